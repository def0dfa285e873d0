import { DomainError, type ErrorCode, ProviderError, StoreUnavailable } from "#core/errors";
import { StoredConfigInvalid } from "#core/use-cases/app-config";

export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body?: string;
}

const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_config: 400,
  invalid_phone: 400,
  invalid_email: 400,
  country_not_allowed: 400,
  webauthn_not_configured: 400,
  unauthorized: 401,
  forbidden: 403,
  step_up_required: 403,
  not_found: 404,
  no_factor: 404,
  challenge_not_found: 404,
  factor_not_found: 404,
  app_not_found: 404,
  method_not_allowed: 405,
  factor_exists: 409,
  conflict: 409,
  request_in_progress: 409,
  idempotency_key_reused: 422,
  precondition_required: 428,
  unsupported_media_type: 415,
  code_expired: 410,
  version_conflict: 412,
  invalid_code: 422,
  invalid_credential: 422,
  locked: 423,
  rate_limited: 429,
  sms_blocked: 429,
  delivery_failed: 502,
  unavailable: 503,
};

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  410: "Gone",
  412: "Precondition failed",
  415: "Unsupported media type",
  422: "Unprocessable content",
  423: "Locked",
  428: "Precondition required",
  429: "Too many code requests",
  502: "Delivery failed",
  503: "Service unavailable",
};

/** Where one status covers different situations, the code's own title. */
const CODE_TITLES: Partial<Record<ErrorCode, string>> = {
  sms_blocked: "SMS refused by SMS protection",
  idempotency_key_reused: "Idempotency key reused with another body",
  request_in_progress: "The first request with this idempotency key is still running",
};

export const statusOf = (code: ErrorCode): number => STATUS[code];

/** RFC 9457 problem details. The one place where a domain error becomes an HTTP answer. */
export function problem(error: DomainError, extraHeaders: Record<string, string> = {}): HttpResult {
  const status = STATUS[error.code];
  const headers: Record<string, string> = {
    "content-type": "application/problem+json",
    "cache-control": "no-store",
    ...extraHeaders,
  };
  if (error.extras.retryAfterSeconds !== undefined)
    headers["retry-after"] = String(error.extras.retryAfterSeconds);
  const body = {
    type: "about:blank",
    title: CODE_TITLES[error.code] ?? TITLES[status] ?? "Error",
    status,
    code: error.code,
    detail: error.message,
    ...error.extras,
  };
  return { statusCode: status, headers, body: JSON.stringify(body) };
}

export type ErrorClass = "domain" | "store" | "provider" | "config" | "unexpected";

/**
 * Anything that is not a domain error is a fault on our side or a dependency's: the store
 * (and anything unexpected) answers 503 without details, so no approval and no stack trace
 * ever leaves, and a client may retry.
 */
export function toProblem(error: unknown): { result: HttpResult; kind: ErrorClass } {
  if (error instanceof DomainError) return { result: problem(error), kind: "domain" };
  if (error instanceof ProviderError) {
    return {
      result: problem(
        new DomainError("delivery_failed", "The provider did not accept the message.", {
          provider: error.provider,
          providerCode: error.providerCode,
        }),
      ),
      kind: "provider",
    };
  }
  const unavailable = (detail: string) =>
    problem(new DomainError("unavailable", detail), { "retry-after": "1" });
  if (error instanceof StoreUnavailable) {
    return { result: unavailable("The service's storage is unavailable. Retry shortly."), kind: "store" };
  }
  if (error instanceof StoredConfigInvalid) {
    // No Retry-After: retrying does not help until an admin repairs the config.
    return {
      result: problem(
        new DomainError(
          "unavailable",
          `The stored configuration of app ${error.appId} is invalid; an admin must fix it (GET /v1/admin/apps/${error.appId}/doctor).`,
        ),
      ),
      kind: "config",
    };
  }
  return {
    result: unavailable("The service could not complete the request. Retry shortly."),
    kind: "unexpected",
  };
}
