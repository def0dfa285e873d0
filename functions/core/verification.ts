import { randomBytes } from "node:crypto";
import { recordAudit } from "./audit.ts";
import { DomainError } from "./errors.ts";
import { and, merge, type StateWrite } from "./model/state-write.ts";
import { isLocked, type UserState } from "./model/user.ts";
import { invalidCodeError, lockedError } from "./policy.ts";
import type { AuditEvent, Deps } from "./ports.ts";
import {
  afterLockRefused,
  afterWrongCode,
  approveAttempt,
  giveBackAttempt,
  reserveAttempt,
  whyReserveRefused,
} from "./rules/attempts.ts";
import type { AppContext } from "./use-cases/app-config.ts";

/** What a factor kind's check found, after the attempt was counted. */
export type Check =
  | {
      kind: "right";
      /** The rest of the approving write: what it spends and what it proves (factor active, MFA on). */
      settle: StateWrite;
      /** Why the approving write was refused, the user not being locked: never a guess (given back). */
      refused: (stored: UserState | undefined) => DomainError;
      /** A count the approval adds elsewhere (an SMS conversion), written beside it and undone if it is refused. */
      alongside?: { record: () => Promise<void>; undo: () => Promise<void> };
    }
  | { kind: "wrong" }
  /** Unknown or expired challenge, a spent code, a replay: the attempt is given back. */
  | { kind: "not_a_guess"; error: DomainError };

export type Approved = { state: UserState; at: number };

export interface VerifyOptions {
  /** Recorded beside the settling write (after the check, so it can name the method). */
  approvalEvent?: () => Omit<AuditEvent, "at" | "id">;
  /** False for activating a further factor: that must not satisfy step-up. */
  countsAsVerification?: boolean;
}

type Verdict = { approved: Approved } | { error: unknown; giveBack: boolean };

/**
 * A verification is one unit: reserve an attempt (one conditional write that also returns
 * the user item) → check → settle (one conditional write that spends the code and proves
 * the factor is still active). The attempt is given back in exactly one place, at most once.
 * `approvalEvent` is recorded beside the settling write and retracted if it is refused, so a
 * right code costs two sequential round trips.
 */
export async function verifyOnce(
  deps: Deps,
  ctx: AppContext,
  userId: string,
  check: (reserved: UserState) => Promise<Check>,
  options: VerifyOptions = {},
): Promise<Approved> {
  const { appId } = ctx.app;
  const policy = ctx.config.limits;
  const now = deps.clock.now();
  const reserved = await deps.store.writeUserState(appId, userId, reserveAttempt(policy, now));
  if (!reserved.ok) throw await reservationRefused(deps, ctx, userId, reserved.state, now);

  const verdict = await decide(deps, ctx, userId, reserved.state, check, options);
  if ("approved" in verdict) return verdict.approved;
  if (verdict.giveBack) {
    // A failed give-back leaves the attempt counted: the safe side.
    await deps.store.writeUserState(appId, userId, giveBackAttempt(deps.clock.now())).catch(() => undefined);
  }
  throw verdict.error;
}

async function decide(
  deps: Deps,
  ctx: AppContext,
  userId: string,
  reserved: UserState,
  check: (reserved: UserState) => Promise<Check>,
  options: VerifyOptions,
): Promise<Verdict> {
  let outcome: Check;
  try {
    outcome = await check(reserved);
  } catch (error) {
    // A fault (store, secrets, provider, a library) is no guess.
    return { error, giveBack: true };
  }
  if (outcome.kind === "not_a_guess") return { error: outcome.error, giveBack: true };
  if (outcome.kind === "wrong")
    return { error: await wrongCode(deps, ctx, userId, reserved), giveBack: false };

  const at = deps.clock.now();
  const approve = approveAttempt(at, options.countsAsVerification ?? true);
  const write: StateWrite = {
    change: merge(approve.change, outcome.settle.change),
    condition: and(approve.condition, outcome.settle.condition),
  };
  const event = options.approvalEvent && {
    ...options.approvalEvent(),
    at,
    id: randomBytes(6).toString("base64url"),
  };
  const retract = async () => {
    await Promise.all([event ? deps.audit.retract(event) : undefined, outcome.alongside?.undo()]);
  };
  let settled: Awaited<ReturnType<Deps["store"]["writeUserState"]>>;
  try {
    [settled] = await Promise.all([
      deps.store.writeUserState(ctx.app.appId, userId, write),
      event ? deps.audit.record(event) : undefined,
      outcome.alongside?.record(),
    ]);
  } catch (error) {
    await retract();
    return { error, giveBack: true };
  }
  if (settled.ok) return { approved: { state: settled.state, at } };
  await retract();
  const stored = settled.state;
  if (stored?.lockedUntil !== undefined && isLocked(stored, at)) {
    return { error: lockedError(stored.lockedUntil), giveBack: false };
  }
  return { error: outcome.refused(stored), giveBack: true };
}

async function wrongCode(
  deps: Deps,
  ctx: AppContext,
  userId: string,
  reserved: UserState,
): Promise<DomainError> {
  const policy = ctx.config.limits;
  const now = deps.clock.now();
  const outcome = afterWrongCode(reserved, policy, now);
  if (outcome.kind === "counted") return invalidCodeError(outcome.attemptsRemaining);
  const locked = await deps.store.writeUserState(ctx.app.appId, userId, outcome.lock);
  if (locked.ok) {
    await auditLock(deps, ctx, userId);
    return lockedError(outcome.until);
  }
  const after = afterLockRefused(locked.state, policy, now);
  return after.kind === "locked" ? lockedError(after.until) : invalidCodeError(after.attemptsRemaining);
}

async function reservationRefused(
  deps: Deps,
  ctx: AppContext,
  userId: string,
  stored: UserState | undefined,
  now: number,
): Promise<DomainError> {
  const why = whyReserveRefused(stored, ctx.config.limits, now);
  if (why.kind === "locked") return lockedError(why.until);
  if (why.kind === "abandoned") {
    const locked = await deps.store.writeUserState(ctx.app.appId, userId, why.lock);
    if (locked.ok) {
      await auditLock(deps, ctx, userId);
      return lockedError(why.until);
    }
    const until = locked.state?.lockedUntil;
    if (until !== undefined && isLocked(locked.state, now)) return lockedError(until);
  }
  return new DomainError("rate_limited", "Every allowed attempt for this user is being checked right now.", {
    retryAfterSeconds: 1,
  });
}

const auditLock = (deps: Deps, ctx: AppContext, userId: string) =>
  recordAudit(deps, { appId: ctx.app.appId, userId, type: "user.locked", outcome: "locked" });
