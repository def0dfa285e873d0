/** Every failure a caller can act on. The HTTP layer maps these to statuses in one place. */
export type ErrorCode =
  | "invalid_request"
  | "invalid_config"
  | "invalid_phone"
  | "invalid_email"
  | "country_not_allowed"
  | "webauthn_not_configured"
  | "unauthorized"
  | "forbidden"
  | "step_up_required"
  | "not_found"
  | "no_factor"
  | "challenge_not_found"
  | "factor_not_found"
  | "app_not_found"
  | "method_not_allowed"
  | "factor_exists"
  | "conflict"
  | "request_in_progress"
  | "idempotency_key_reused"
  | "precondition_required"
  | "unsupported_media_type"
  | "code_expired"
  | "version_conflict"
  | "invalid_code"
  | "invalid_credential"
  | "locked"
  | "rate_limited"
  | "sms_blocked"
  | "delivery_failed"
  | "unavailable";

export interface FieldError {
  path: string;
  message: string;
}

/** Extra members of the problem document; never a secret. */
export type ProblemExtras = {
  errors?: FieldError[];
  attemptsRemaining?: number;
  lockedUntil?: string;
  retryAfterSeconds?: number;
  providerCode?: string;
  providerMessage?: string;
  provider?: string;
  /** `sms_blocked`: which SMS protection limit refused. */
  reason?: string;
};

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extras: ProblemExtras = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}

/** A store read or write failed or timed out: answer 503, never an approval. */
export class StoreUnavailable extends Error {
  constructor(
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(`store unavailable during ${operation}`, options);
    this.name = "StoreUnavailable";
  }
}

/** A provider refused or failed to accept a message. `code`/`message` are the provider's own, never a secret. */
export class ProviderError extends Error {
  constructor(
    readonly provider: string,
    readonly providerCode: string,
    message: string,
    readonly kind: "auth" | "rejected" | "unavailable" | "timeout" | "not_configured" = "rejected",
  ) {
    super(message);
    this.name = "ProviderError";
  }
}

export const invalidRequest = (errors: FieldError[]): DomainError =>
  new DomainError("invalid_request", "The request is not valid.", { errors });
