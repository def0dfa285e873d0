import type { AppConfig } from "../config.ts";
import { invalidCodeError, lockedError } from "../policy.ts";
import type { Deps } from "../ports.ts";

/** Counts a wrong code against the user (every method shares the count) and returns the error to answer. */
export async function wrongCode(
  deps: Deps,
  config: AppConfig,
  appId: string,
  userId: string,
): Promise<Error> {
  const outcome = await deps.store.recordFailure(appId, userId, {
    now: deps.clock.now(),
    maxVerifyAttempts: config.limits.maxVerifyAttempts,
    lockoutSeconds: config.limits.lockoutSeconds,
  });
  return outcome.locked
    ? lockedError(outcome.lockedUntil)
    : invalidCodeError(config.limits.maxVerifyAttempts - outcome.failedAttempts);
}
