/**
 * `npm run console`: the admin console served on 127.0.0.1 against a deployed stage. The page's
 * calls to its own origin (`/console/api/<rest>`) are forwarded to `${baseUrl}/v1/<rest>` through
 * the `fetch` it is given (SigV4 with the operator's AWS credentials), so the deployed API needs
 * no new public admin surface and the browser never holds a credential. Only the admin routes
 * of the route table are forwarded; requests naming another host or origin are refused, so
 * neither another site nor a DNS-rebound name can use the operator's credentials through it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { consoleAsset } from "./console-assets.ts";
import { matchRoute } from "./routes.ts";

export interface ConsoleServerOptions {
  /** The deployed API's base URL (the stack's ApiUrl), with or without a trailing slash. */
  baseUrl: string;
  /** Authenticates and sends each forwarded request (signingFetch for a deployed stage). */
  fetch: typeof fetch;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Loopback only: the console acts with the operator's credentials. */
  host?: "127.0.0.1";
  /** Largest request body forwarded (admin bodies are small JSON documents). */
  maxBodyBytes?: number;
}

export interface ConsoleServer {
  /** `http://127.0.0.1:<port>/console/`: the address to open. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const API_PREFIX = "/console/api/";
// Sent upstream from the browser's request; nothing else (cookies, a stray Authorization) is.
const REQUEST_HEADERS = ["content-type", "if-match", "accept"];
// Sent back to the browser from the admin API's answer.
const RESPONSE_HEADERS = ["content-type", "etag", "retry-after", "location", "allow", "cache-control"];
const METHODS_WITHOUT_BODY = new Set(["GET", "HEAD", "DELETE"]);

interface Answer {
  status: number;
  headers: Record<string, string>;
  body?: Uint8Array | string;
}

/** RFC 9457 problem details, the shape the admin API's own errors have. */
function problem(status: number, title: string, code: string, detail: string): Answer {
  return {
    status,
    headers: { "content-type": "application/problem+json", "cache-control": "no-store" },
    body: JSON.stringify({ type: "about:blank", title, status, code, detail }),
  };
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * `.` and `..` segments (also percent-encoded) would be resolved away by the URL parser before
 * signing, sending the request somewhere other than the route that was checked.
 */
function hasDotSegment(path: string): boolean {
  return path.split("/").some((segment) => {
    try {
      const decoded = decodeURIComponent(segment);
      return decoded === "." || decoded === "..";
    } catch {
      return true;
    }
  });
}

/** Whether `/v1/<rest>` with this method is an admin route: found, method not allowed (with Allow), or neither. */
function adminRoute(method: string, path: string): "found" | { allow: string[] } | undefined {
  if (hasDotSegment(path)) return undefined;
  const match = matchRoute(method, path);
  if (match.kind === "found") return match.route.auth === "admin" ? "found" : undefined;
  if (match.kind === "method_not_allowed") {
    const allow = match.allow.filter((m) => {
      const other = matchRoute(m, path);
      return other.kind === "found" && other.route.auth === "admin";
    });
    return allow.length > 0 ? { allow } : undefined;
  }
  return undefined;
}

async function forward(
  req: IncomingMessage,
  rest: string,
  search: string,
  options: Required<Pick<ConsoleServerOptions, "baseUrl" | "fetch" | "maxBodyBytes">>,
): Promise<Answer> {
  const method = (req.method ?? "GET").toUpperCase();
  const path = `/v1/${rest}`;
  const route = adminRoute(method, path);
  if (route === undefined) {
    return problem(404, "Not found", "not_found", "The console forwards the admin routes only.");
  }
  if (route !== "found") {
    const answer = problem(405, "Method not allowed", "method_not_allowed", `${method} is not allowed here.`);
    answer.headers.allow = route.allow.join(", ");
    return answer;
  }
  let body: Uint8Array | undefined;
  try {
    body = METHODS_WITHOUT_BODY.has(method) ? undefined : await readBody(req, options.maxBodyBytes);
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      return problem(
        413,
        "Payload too large",
        "payload_too_large",
        `Request bodies are at most ${options.maxBodyBytes} bytes.`,
      );
    }
    throw error;
  }
  const headers: Record<string, string> = { accept: "application/json" };
  for (const name of REQUEST_HEADERS) {
    const value = req.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  const target = `${options.baseUrl.replace(/\/+$/, "")}${path}${search}`;
  let response: Response;
  let payload: Uint8Array;
  try {
    response = await options.fetch(target, {
      method,
      headers,
      ...(body && body.length > 0 ? { body } : {}),
    });
    payload = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    // A network failure (fetch's TypeError) or no AWS credentials to sign with: the message says which.
    const reason = error instanceof Error ? (causeOf(error) ?? error.message) : String(error);
    return problem(
      502,
      "Bad gateway",
      "upstream_unreachable",
      `The console could not get an answer from the admin API at ${new URL(target).origin}: ${reason}`,
    );
  }
  const out: Record<string, string> = { "cache-control": "no-store", "x-content-type-options": "nosniff" };
  for (const name of RESPONSE_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) out[name] = value;
  }
  return { status: response.status, headers: out, body: payload };
}

/** fetch's "fetch failed" hides the reason (ECONNREFUSED, ENOTFOUND) in its cause. */
function causeOf(error: Error): string | undefined {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) return `${error.message} (${cause.message})`;
  return undefined;
}

/** Starts the console server on 127.0.0.1; rejects (EADDRINUSE, say) if the port cannot be had. */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const settings = {
    baseUrl: options.baseUrl,
    fetch: options.fetch,
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
  };
  let hosts = new Set<string>();
  let origins = new Set<string>();

  const route = async (req: IncomingMessage): Promise<Answer> => {
    // DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 still says its own Host.
    if (!hosts.has(req.headers.host ?? "")) {
      return problem(403, "Forbidden", "forbidden", "The console answers requests to its own address only.");
    }
    // Another site's page (a form post, a fetch) names its own origin.
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin)) {
      return problem(403, "Forbidden", "forbidden", "The console answers its own pages only.");
    }
    const raw = req.url ?? "/";
    const q = raw.indexOf("?");
    const path = q < 0 ? raw : raw.slice(0, q);
    const search = q < 0 ? "" : raw.slice(q);
    if (path.startsWith(API_PREFIX)) return forward(req, path.slice(API_PREFIX.length), search, settings);
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "HEAD") {
      return problem(405, "Method not allowed", "method_not_allowed", `${method} is not allowed here.`);
    }
    if (path === "/" || path === "/console") {
      return { status: 302, headers: { location: "/console/", "cache-control": "no-store" } };
    }
    const asset = path.startsWith("/console/") ? await consoleAsset(path) : undefined;
    if (!asset) return problem(404, "Not found", "not_found", "No such page.");
    return { status: asset.statusCode, headers: asset.headers, body: asset.body };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    route(req)
      .catch(() => problem(500, "Internal error", "internal", "The console server failed; see its terminal."))
      .then((answer) => {
        res.writeHead(answer.status, answer.headers);
        res.end(req.method === "HEAD" ? undefined : answer.body);
      })
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  origins = new Set([...hosts].map((host) => `http://${host}`));
  return {
    url: `http://127.0.0.1:${port}/console/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
