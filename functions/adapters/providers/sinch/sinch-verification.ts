import { createHash, createHmac } from "node:crypto";
import type { AppConfig } from "#core/config";
import { ProviderError } from "#core/errors";
import type { Secrets, VerificationProvider } from "#core/ports";
import { withRotatingSecret } from "../secret.ts";
import { type SinchSecret, sinchSecret } from "./secret.ts";

export interface SinchVerificationSettings {
  secrets: Secrets;
  /** Per request (including reading the answer), default 5000 ms. */
  timeoutMs?: number;
  /** Defaults to the global `fetch`, looked up at call time. */
  fetch?: typeof fetch;
  /**
   * Also lets credentials go to `http://127.0.0.1:<port>` (a fake Sinch). Only the local stack and
   * tests set it; the cloud functions never do.
   */
  allowLoopbackHttp?: boolean;
}

export interface SinchSigningInput {
  /** HTTP verb, any case (signed upper-case). */
  method: string;
  /** Path with the leading `/`, no host, no query. */
  path: string;
  /** The exact Content-Type header sent. */
  contentType: string;
  /** The exact body sent; `undefined` or empty for none. */
  body?: string;
  /** The exact `x-timestamp` header sent (ISO-8601). */
  timestamp: string;
  /** The application secret, base64 as Sinch shows it. */
  secret: string;
}

const PROVIDER = sinchSecret.provider;
// Under the use case's 5 s per delivery step (PROVIDER_TIMEOUT_MS): the request is aborted before the step gives up on it, so none lingers.
export const DEFAULT_TIMEOUT_MS = 4_000;
const CONTENT_TYPE = "application/json";
const VERIFICATIONS_PATH = "/verification/v1/verifications";

/** Base64(MD5(UTF-8 body)), or "" when there is no body. */
export const sinchContentMd5 = (body: string | undefined): string =>
  body ? createHash("md5").update(body, "utf8").digest("base64") : "";

/** The string Sinch's signed-request scheme signs. */
export const sinchStringToSign = (input: Omit<SinchSigningInput, "secret">): string =>
  [
    input.method.toUpperCase(),
    sinchContentMd5(input.body),
    input.contentType,
    `x-timestamp:${input.timestamp}`,
    input.path,
  ].join("\n");

/** Base64(HMAC-SHA256(Base64-decode(secret), StringToSign)): the part after `key:` in `Application key:signature`. */
export function signSinchRequest(input: SinchSigningInput): string {
  return createHmac("sha256", Buffer.from(input.secret, "base64"))
    .update(sinchStringToSign(input), "utf8")
    .digest("base64");
}

/**
 * Where Sinch credentials may be sent (SECURITY rule 37): https on a `*.sinch.com` host, or, only
 * with `allowLoopbackHttp`, http://127.0.0.1:<port>. Anything else is refused before the secret is
 * read or a request made, whatever the app's config says.
 */
export function sinchEndpoint(endpointUrl: string, allowLoopbackHttp: boolean): URL {
  let url: URL | undefined;
  try {
    url = new URL(endpointUrl);
  } catch {
    url = undefined;
  }
  const sinchHost = url?.protocol === "https:" && url.hostname.endsWith(".sinch.com");
  const loopback =
    allowLoopbackHttp && url?.protocol === "http:" && url.hostname === "127.0.0.1" && url.port !== "";
  if (url && (sinchHost || loopback)) return url;
  // The URL itself stays out of the message: it is the admin's, and could hold anything.
  throw new ProviderError(
    PROVIDER,
    "endpoint_not_allowed",
    "sms.sinch.endpointUrl must be https on a *.sinch.com host: Sinch credentials are sent nowhere else",
    "not_configured",
  );
}

/** "HH:MM:SS" for smsOptions.expiry. */
export function sinchExpiry(seconds: number): string {
  const total = Math.min(Math.max(Math.floor(seconds), 0), 99 * 3600 + 59 * 60 + 59);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const nonEmpty = (value: unknown): value is string => typeof value === "string" && value.length > 0;

interface SinchAnswer {
  status: number;
  body: unknown;
}

/** Sinch Verification API v1 over plain fetch: Sinch generates, sends and checks the SMS code. */
export class SinchVerification implements VerificationProvider {
  readonly kind = "verification";
  private readonly secrets: Secrets;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch | undefined;
  private readonly allowLoopbackHttp: boolean;

  constructor(settings: SinchVerificationSettings) {
    this.secrets = settings.secrets;
    this.timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchImpl = settings.fetch;
    this.allowLoopbackHttp = settings.allowLoopbackHttp ?? false;
  }

  async start(
    input: { to: string; locale?: string; expirySeconds: number; reference: string },
    config: AppConfig,
  ): Promise<{ verificationId: string; provider: string }> {
    const body = JSON.stringify({
      identity: { type: "number", endpoint: input.to },
      method: "sms",
      reference: input.reference,
      smsOptions: { expiry: sinchExpiry(input.expirySeconds) },
    });
    const headers: Record<string, string> = input.locale ? { "Accept-Language": input.locale } : {};
    const answer = await this.call("POST", VERIFICATIONS_PATH, body, headers, config);
    if (answer.status < 200 || answer.status > 299) throw toProviderError(answer);
    const id = isRecord(answer.body) ? answer.body.id : undefined;
    if (!nonEmpty(id)) {
      throw new ProviderError(
        PROVIDER,
        "bad_response",
        "Sinch answered without a verification id",
        "unavailable",
      );
    }
    return { verificationId: id, provider: PROVIDER };
  }

  async report(
    verificationId: string,
    code: string,
    config: AppConfig,
  ): Promise<"approved" | "wrong_code" | "expired"> {
    const body = JSON.stringify({ method: "sms", sms: { code } });
    const path = `${VERIFICATIONS_PATH}/id/${encodeURIComponent(verificationId)}`;
    const answer = await this.call("PUT", path, body, {}, config);
    if (answer.status >= 200 && answer.status <= 299) {
      const result = isRecord(answer.body) ? answer.body : {};
      const status = typeof result.status === "string" ? result.status.toUpperCase() : "";
      const reason = typeof result.reason === "string" ? result.reason : "";
      if (status === "SUCCESSFUL") return "approved";
      if (status === "PENDING" || (status === "FAIL" && /invalid code/i.test(reason))) return "wrong_code";
      if (["FAIL", "DENIED", "ABORTED", "ERROR"].includes(status)) return "expired";
      throw new ProviderError(
        PROVIDER,
        "bad_response",
        "Sinch answered with an unknown status",
        "unavailable",
      );
    }
    if (answer.status === 404) return "expired";
    if (answer.status === 400 && errorCodeOf(answer.body) === "40003") return "wrong_code";
    throw toProviderError(answer);
  }

  /** One request; a 401 is "authentication failed": the secret is re-read and, if it changed, the request made once more. */
  private async call(
    method: "POST" | "PUT",
    path: string,
    body: string,
    headers: Record<string, string>,
    config: AppConfig,
  ): Promise<SinchAnswer> {
    const endpoint = sinchEndpoint(config.sms.sinch.endpointUrl, this.allowLoopbackHttp);
    const source = { secrets: this.secrets, spec: sinchSecret, name: sinchSecret.secretNameIn(config) };
    return withRotatingSecret(source, async (secret) => {
      const answer = await this.send(endpoint, method, path, body, headers, config, secret);
      if (answer.status === 401) throw toProviderError(answer);
      return answer;
    });
  }

  private async send(
    endpoint: URL,
    method: "POST" | "PUT",
    path: string,
    body: string,
    extraHeaders: Record<string, string>,
    config: AppConfig,
    secret: SinchSecret,
  ): Promise<SinchAnswer> {
    const fullPath = `${endpoint.pathname.replace(/\/+$/, "")}${path}`;
    const url = `${endpoint.origin}${fullPath}`;
    const headers: Record<string, string> = {
      ...extraHeaders,
      Accept: "application/json",
      "Content-Type": CONTENT_TYPE,
    };
    if (config.sms.sinch.authMethod === "signed") {
      const timestamp = new Date().toISOString();
      const signature = signSinchRequest({
        method,
        path: fullPath,
        contentType: CONTENT_TYPE,
        body,
        timestamp,
        secret: secret.secret,
      });
      headers["x-timestamp"] = timestamp;
      headers.Authorization = `Application ${secret.authenticationId}:${signature}`;
    } else {
      const basic = Buffer.from(`${secret.authenticationId}:${secret.secret}`, "utf8").toString("base64");
      headers.Authorization = `Basic ${basic}`;
    }
    const doFetch = this.fetchImpl ?? globalThis.fetch;
    try {
      const response = await doFetch(url, {
        method,
        headers,
        body,
        // A redirect is an answer, not a place the credentials follow to.
        redirect: "manual",
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, body: parsed };
    } catch (error) {
      const name = error instanceof Error ? error.name : "";
      if (name === "TimeoutError" || name === "AbortError") {
        throw new ProviderError(
          PROVIDER,
          "timeout",
          `Sinch did not answer within ${this.timeoutMs} ms`,
          "timeout",
        );
      }
      const cause = isRecord(error) && isRecord(error.cause) ? error.cause.code : undefined;
      throw new ProviderError(
        PROVIDER,
        "network",
        `could not reach Sinch${nonEmpty(cause) ? ` (${cause})` : ""}`,
        "unavailable",
      );
    }
  }
}

function errorCodeOf(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const code = body.errorCode;
  return typeof code === "number" || nonEmpty(code) ? String(code) : undefined;
}

/** A non-success answer: Sinch's errorCode and message, kind by HTTP status. */
function toProviderError(answer: SinchAnswer): ProviderError {
  const code = errorCodeOf(answer.body) ?? `http_${answer.status}`;
  const message =
    isRecord(answer.body) && nonEmpty(answer.body.message)
      ? answer.body.message.slice(0, 500)
      : `HTTP ${answer.status}`;
  const status = answer.status;
  const kind =
    status === 401
      ? "auth"
      : status === 429 || status >= 500
        ? "unavailable"
        : status >= 400
          ? "rejected"
          : "unavailable";
  return new ProviderError(PROVIDER, code, message, kind);
}
