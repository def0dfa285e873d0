import { recordAudit } from "../audit.ts";
import { DomainError } from "../errors.ts";
import { invalidCodeError, lockedError, lockedUntil } from "../policy.ts";
import type { Deps } from "../ports.ts";
import type { AppContext } from "./app-config.ts";

const policyOf = (deps: Deps, ctx: AppContext) => ({
  now: deps.clock.now(),
  maxVerifyAttempts: ctx.config.limits.maxVerifyAttempts,
  lockoutSeconds: ctx.config.limits.lockoutSeconds,
});

const auditLock = (deps: Deps, ctx: AppContext, userId: string) =>
  recordAudit(deps, { appId: ctx.app.appId, userId, type: "user.locked", outcome: "locked" });

/**
 * Every code check starts here: the attempt is counted (one conditional write) before the
 * code is compared. Wrong codes count per user across every method and challenge.
 */
export async function reserveAttempt(deps: Deps, ctx: AppContext, userId: string): Promise<number> {
  const reservation = await deps.store.reserveAttempt(ctx.app.appId, userId, policyOf(deps, ctx));
  if (reservation.ok) return reservation.attempt;
  if ("busy" in reservation) {
    throw new DomainError("rate_limited", "Every allowed attempt for this user is being checked right now.", {
      retryAfterSeconds: 1,
    });
  }
  if (reservation.justLocked) await auditLock(deps, ctx, userId);
  throw lockedError(reservation.lockedUntil);
}

/** The reserved attempt was a wrong code: the error to answer (422 with attempts left, or 423 when it was the last). */
export async function wrongAttempt(
  deps: Deps,
  ctx: AppContext,
  userId: string,
  attempt: number,
): Promise<Error> {
  const outcome = await deps.store.failAttempt(ctx.app.appId, userId, attempt, policyOf(deps, ctx));
  if (!outcome.locked) return invalidCodeError(ctx.config.limits.maxVerifyAttempts - outcome.failedAttempts);
  if (outcome.justLocked) await auditLock(deps, ctx, userId);
  return lockedError(outcome.lockedUntil);
}

/** Not a guess after all (unknown or expired challenge, provider fault): the attempt is given back. */
export const releaseAttempt = (deps: Deps, ctx: AppContext, userId: string): Promise<void> =>
  deps.store.releaseAttempt(ctx.app.appId, userId, deps.clock.now());

/** Locked by a parallel request after our attempt was counted. */
export async function currentLock(deps: Deps, ctx: AppContext, userId: string): Promise<Error> {
  const now = deps.clock.now();
  const state = await deps.store.getUserState(ctx.app.appId, userId);
  return lockedError(lockedUntil(state, now) ?? now);
}

/**
 * Runs a check that holds a reserved attempt. A fault (store, secrets, a library throwing)
 * is not a guess: the attempt is given back before the error goes on, so glitches never
 * lock anyone out. Domain errors keep their own accounting.
 */
export async function holdingAttempt<T>(
  deps: Deps,
  ctx: AppContext,
  userId: string,
  check: () => Promise<T>,
): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (!(error instanceof DomainError)) await releaseAttempt(deps, ctx, userId).catch(() => undefined);
    throw error;
  }
}

/**
 * A right TOTP code of a step that was already accepted: refused as API.md says (422), but
 * not counted, since the one who sends it knew the code (a double submit, or a replay).
 */
export async function replayedCode(deps: Deps, ctx: AppContext, userId: string): Promise<Error> {
  await releaseAttempt(deps, ctx, userId);
  const state = await deps.store.getUserState(ctx.app.appId, userId);
  return invalidCodeError(Math.max(1, ctx.config.limits.maxVerifyAttempts - (state?.failedAttempts ?? 0)));
}
