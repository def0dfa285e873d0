import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SigV4ServerOptions {
  credentials: StaticCredentials;
  region: string;
  service?: string;
  /** How far x-amz-date may be from now (API Gateway allows 5 minutes). */
  maxSkewMs?: number;
  /** Serves a request whose signature checked out (e.g. forwards it to the local stack). */
  handle(request: Request): Promise<Response>;
}

export interface Verdict {
  method: string;
  path: string;
  accepted: boolean;
  reason?: string;
}

export interface SigV4Server {
  url: string;
  /** Every request, with whether its signature was accepted and why not. */
  verdicts: Verdict[];
  close(): Promise<void>;
}

type SignableRequest = Parameters<SignatureV4["sign"]>[0];

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

class Refused extends Error {}

/** `20261202T233750Z` → a Date, or undefined. */
function parseAmzDate(text: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? "");
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
};

/**
 * Checks a request the way API Gateway's IAM authorization does, with the AWS SDK's own signer:
 * the credential scope, the date (and its skew), the payload hash against the body, then the
 * signature recomputed over the method, the path and query as received, the signed headers and
 * the body. Throws `Refused` with API Gateway's kind of message.
 */
async function verify(
  req: IncomingMessage,
  body: Uint8Array,
  options: SigV4ServerOptions,
  signer: SignatureV4,
): Promise<void> {
  const authorization = header(req, "authorization") ?? "";
  const auth = AUTH.exec(authorization);
  if (!auth) throw new Refused("Missing Authentication Token");
  const [, accessKeyId, day, region, service, signedList = ""] = auth;
  if (accessKeyId !== options.credentials.accessKeyId)
    throw new Refused("The security token included in the request is invalid.");
  if (region !== options.region || service !== (options.service ?? "execute-api"))
    throw new Refused(`Credential should be scoped to a valid region and service, not ${region}/${service}.`);
  const signedNames = signedList.split(";");
  for (const required of ["host", "x-amz-date"]) {
    if (!signedNames.includes(required)) throw new Refused(`'${required}' must be a signed header.`);
  }
  const date = parseAmzDate(header(req, "x-amz-date"));
  if (!date || date.toISOString().slice(0, 10).replaceAll("-", "") !== day)
    throw new Refused("Date in Credential scope does not match the x-amz-date header.");
  if (Math.abs(Date.now() - date.getTime()) > (options.maxSkewMs ?? 5 * 60_000))
    throw new Refused(`Signature expired: ${header(req, "x-amz-date")} is not within 5 minutes of now.`);
  const token = options.credentials.sessionToken;
  if (
    token &&
    (header(req, "x-amz-security-token") !== token || !signedNames.includes("x-amz-security-token"))
  )
    throw new Refused("The security token included in the request is invalid.");
  const claimedHash = header(req, "x-amz-content-sha256");
  if (claimedHash !== undefined && claimedHash !== createHash("sha256").update(body).digest("hex"))
    throw new Refused("The provided x-amz-content-sha256 header does not match what was computed.");

  const headers: Record<string, string> = {};
  for (const name of signedNames) {
    const value = header(req, name);
    if (value === undefined) throw new Refused(`Signed header ${name} is missing.`);
    headers[name] = value;
  }
  const raw = req.url ?? "/";
  const q = raw.indexOf("?");
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(q < 0 ? "" : raw.slice(q + 1))) {
    const seen = query[key];
    query[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  const host = headers.host ?? "";
  const received: SignableRequest = {
    method: req.method ?? "GET",
    protocol: "http:",
    hostname: host.replace(/:\d+$/, ""),
    path: q < 0 ? raw : raw.slice(0, q),
    query,
    headers,
    body: body.length > 0 ? body : undefined,
  };
  const expected = (await signer.sign(received, { signingDate: date })).headers.authorization ?? "";
  const a = Buffer.from(expected);
  const b = Buffer.from(authorization);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new Refused(
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
    );
  }
}

/** An HTTP server on 127.0.0.1 (a free port) that serves only correctly SigV4-signed requests. */
export async function startSigV4Server(options: SigV4ServerOptions): Promise<SigV4Server> {
  // Re-signs exactly what was received: no checksum header is added that the client did not send.
  const signer = new SignatureV4({
    service: options.service ?? "execute-api",
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
    applyChecksum: false,
  });
  const verdicts: Verdict[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = new Uint8Array(Buffer.concat(chunks));
    const verdict: Verdict = { method: req.method ?? "", path: req.url ?? "", accepted: false };
    verdicts.push(verdict);
    try {
      await verify(req, body, options, signer);
    } catch (error) {
      verdict.reason = error instanceof Error ? error.message : String(error);
      const status = error instanceof Refused ? 403 : 500;
      res
        .writeHead(status, { "content-type": "application/json" })
        .end(JSON.stringify({ message: verdict.reason }));
      return;
    }
    verdict.accepted = true;
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(",") : value);
    }
    const method = req.method ?? "GET";
    const response = await options.handle(
      new Request(`http://${req.headers.host}${req.url}`, {
        method,
        headers,
        body: method === "GET" || method === "HEAD" ? undefined : body,
      }),
    );
    const out: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (name !== "content-length" && name !== "transfer-encoding") out[name] = value;
    });
    res.writeHead(response.status, out).end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    verdicts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A `handle` that passes a verified request on to an admin API with a bearer token, as API Gateway passes it to the Lambda. */
export function forwardTo(baseUrl: string, bearer: string): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const headers = new Headers();
    for (const name of ["content-type", "if-match", "accept"]) {
      const value = request.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    headers.set("authorization", `Bearer ${bearer}`);
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    return fetch(`${baseUrl}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: hasBody ? await request.arrayBuffer() : undefined,
    });
  };
}
