import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { LogEntry } from "#http/log";
import { buildEvent } from "#lib/local-server";
import { type LocalStack, startLocalStack } from "#lib/local-stack";
import { matchRoute } from "#lib/routes";

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  text: string;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is, instead of JSON-encoding `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
  /** `client` (the default app's key), `admin` (the admin token), a literal bearer, or null for none. */
  auth?: "client" | "admin" | string | null;
}

export interface Harness {
  stack: LocalStack;
  /** The folder of the stack's data, secrets and credentials. */
  dir: string;
  logs: LogEntry[];
  printed: string[];
  /** Drives the Lambda handler for the route with an API Gateway v2 event, as the cloud would. */
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** The same request over HTTP through the local server. */
  http(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** Latest code sent to an address (sms or email), read from the outbox. */
  latestCode(to: string): Promise<string>;
  stop(): Promise<void>;
}

/** dynalite and aws-ses-v2-local on free ports, in memory, with the real adapters and handlers. */
export async function startHarness(options: { twilioApiUrl?: string } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "otp-test-"));
  const logs: LogEntry[] = [];
  const printed: string[] = [];
  const stack = await startLocalStack({
    dir,
    port: 0,
    persist: false,
    print: (line) => printed.push(line),
    log: (entry) => logs.push(entry),
    ...options,
  });

  const headersFor = (options: CallOptions): Record<string, string> => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const auth = options.auth === undefined ? "client" : options.auth;
    if (auth !== null) {
      const bearer =
        auth === "client" ? stack.credentials.apiKey : auth === "admin" ? stack.credentials.adminToken : auth;
      headers.authorization = `Bearer ${bearer}`;
    }
    const hasBody = options.rawBody !== undefined || options.body !== undefined;
    if (hasBody && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      headers["content-type"] = "application/json";
    }
    return headers;
  };
  const bodyFor = (options: CallOptions): string | undefined =>
    options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));

  const reply = (status: number, headers: Record<string, string>, text: string): Reply => {
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = {};
    }
    return { status, headers, body, text };
  };

  const call = async (method: string, path: string, options: CallOptions = {}): Promise<Reply> => {
    const event = buildEvent({ method, path, headers: headersFor(options), body: bodyFor(options) });
    const match = matchRoute(method, event.rawPath);
    const fn = match.kind === "found" && match.route.fn !== "local" ? match.route.fn : "admin-config";
    const result = (await stack.handlers[fn](event, {
      awsRequestId: event.requestContext.requestId,
    } as Context)) as APIGatewayProxyStructuredResultV2;
    const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
    return reply(result.statusCode ?? 200, headers, result.body ?? "");
  };

  const http = async (method: string, path: string, options: CallOptions = {}): Promise<Reply> => {
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers: headersFor(options),
      body: bodyFor(options),
    });
    return reply(response.status, Object.fromEntries(response.headers), await response.text());
  };

  const latestCode = async (to: string): Promise<string> => {
    const [message] = await stack.outboxMessages(to);
    const code = message ? /\b(\d{6,10})\b/.exec(message.body)?.[1] : undefined;
    if (!code) throw new Error(`no code was sent to ${to}`);
    return code;
  };

  return {
    stack,
    dir,
    logs,
    printed,
    call,
    http,
    latestCode,
    stop: async () => {
      await stack.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Enrolls and activates an email factor; returns its id and the recovery codes. */
export async function enrollEmail(
  h: Harness,
  userId: string,
  email = `${userId}@example.com`,
  auth: CallOptions["auth"] = "client",
): Promise<{ factorId: string; recoveryCodes: string[] }> {
  const enrolled = await h.call("POST", `/v1/users/${userId}/factors`, {
    body: { type: "email", email },
    auth,
  });
  if (enrolled.status !== 201) throw new Error(`enroll failed: ${enrolled.text}`);
  const factorId = String(enrolled.body.factorId);
  const activated = await h.call("POST", `/v1/users/${userId}/factors/${factorId}/activate`, {
    body: { code: await h.latestCode(email) },
    auth,
  });
  if (activated.status !== 200) throw new Error(`activate failed: ${activated.text}`);
  return { factorId, recoveryCodes: (activated.body.recoveryCodes as string[] | undefined) ?? [] };
}

export async function putConfig(h: Harness, appId: string, patch: (config: Record<string, unknown>) => void) {
  const current = await h.call("GET", `/v1/admin/apps/${appId}/config`, { auth: "admin" });
  const config = structuredClone(current.body);
  patch(config);
  const updated = await h.call("PUT", `/v1/admin/apps/${appId}/config`, {
    auth: "admin",
    body: config,
    headers: { "if-match": current.headers.etag ?? "" },
  });
  if (updated.status !== 200) throw new Error(`config update failed: ${updated.text}`);
  return updated;
}
