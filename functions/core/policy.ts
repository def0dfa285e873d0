import type { AppConfig } from "./config.ts";
import { DomainError, ProviderError } from "./errors.ts";
import type { UserState } from "./model/user.ts";
import type { CodeChannel, EpochMs } from "./ports.ts";

export const PROVIDER_TIMEOUT_MS = 5_000;

export const lockedUntil = (state: UserState | undefined, now: EpochMs): EpochMs | undefined =>
  state?.lockedUntil !== undefined && state.lockedUntil > now ? state.lockedUntil : undefined;

export const lockedError = (until: EpochMs): DomainError =>
  new DomainError("locked", "Too many wrong codes: this user is locked. Try again later.", {
    lockedUntil: new Date(until).toISOString(),
  });

/** Every entry point that sends or checks a code calls this first. */
export function assertNotLocked(state: UserState | undefined, now: EpochMs): void {
  const until = lockedUntil(state, now);
  if (until !== undefined) throw lockedError(until);
}

export const rateLimitedError = (retryAt: EpochMs, now: EpochMs): DomainError => {
  const retryAfterSeconds = Math.max(1, Math.ceil((retryAt - now) / 1000));
  return new DomainError("rate_limited", `Too many code requests. Try again in ${retryAfterSeconds} s.`, {
    retryAfterSeconds,
  });
};

export const invalidCodeError = (attemptsRemaining: number): DomainError =>
  new DomainError("invalid_code", "The code is not correct.", { attemptsRemaining });

export const codeExpiredError = (): DomainError =>
  new DomainError("code_expired", "The code has expired or was already used. Request a new one.");

/** `auto` tries the primary method, then the fallback; an explicit channel is tried alone. */
export function channelOrder(config: AppConfig, requested: "auto" | CodeChannel): CodeChannel[] {
  if (requested !== "auto") return [requested];
  const { primaryMethod, fallbackMethod } = config.mfa;
  return fallbackMethod === "none" || fallbackMethod === primaryMethod
    ? [primaryMethod]
    : [primaryMethod, fallbackMethod];
}

export const enrollmentRequired = (config: AppConfig, userId: string, enabled: boolean): boolean =>
  config.mfa.required && !enabled && !config.mfa.exemptUserIds.includes(userId);

export const minutesOf = (seconds: number): number => Math.max(1, Math.ceil(seconds / 60));

/** Providers get a bounded time; past it the attempt counts as failed (and fallback may apply). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, provider: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ProviderError(provider, "timeout", `no answer within ${ms} ms`, "timeout")),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
