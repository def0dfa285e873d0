import { absentOr, and, type Condition, cmp, type StateWrite, still } from "../model/state-write.ts";
import { isLocked, type UserState } from "../model/user.ts";
import type { EpochMs } from "../ports.ts";

export interface AttemptPolicy {
  maxVerifyAttempts: number;
  lockoutSeconds: number;
}

/** Longer than any request can run (Lambda timeouts are at most 15 s): older reserved attempts were abandoned. */
export const IN_FLIGHT_MS = 30_000;

export const notLocked = (now: EpochMs) => absentOr(["lockedUntil"], "<=", now);

/**
 * Count before compare: every code check first takes one attempt, refused while locked or
 * while every allowed attempt is taken, so a burst of guesses gets at most
 * `maxVerifyAttempts` comparisons.
 */
export const reserveAttempt = (policy: AttemptPolicy, now: EpochMs): StateWrite => ({
  change: { add: [[["attempts"], 1]], set: [[["lastAttemptAt"], now]] },
  condition: and(notLocked(now), absentOr(["attempts"], "<", policy.maxVerifyAttempts)),
});

export type ReserveRefusal =
  | { kind: "locked"; until: EpochMs }
  /** Every allowed attempt is being checked right now; one of them may be right, so no lock. */
  | { kind: "busy" }
  /** Every attempt was taken by requests that died midway: they were never answered, so lock. */
  | { kind: "abandoned"; until: EpochMs; lock: StateWrite };

export function whyReserveRefused(
  old: UserState | undefined,
  policy: AttemptPolicy,
  now: EpochMs,
): ReserveRefusal {
  if (old?.lockedUntil !== undefined && isLocked(old, now)) return { kind: "locked", until: old.lockedUntil };
  if (now - (old?.lastAttemptAt ?? 0) < IN_FLIGHT_MS) return { kind: "busy" };
  // Only if no attempt was reserved since: a new one would be in flight again.
  return { kind: "abandoned", ...lockWhenSpent(policy, now, still(["lastAttemptAt"], old?.lastAttemptAt)) };
}

/** Locks an unlocked user whose attempts are all spent (on what is stored); the count restarts for after the lock. */
function lockWhenSpent(
  policy: AttemptPolicy,
  now: EpochMs,
  also?: Condition,
): { until: EpochMs; lock: StateWrite } {
  const until = now + policy.lockoutSeconds * 1000;
  return {
    until,
    lock: {
      change: {
        set: [
          [["lockedUntil"], until],
          [["attempts"], 0],
        ],
      },
      condition: and(notLocked(now), cmp(["attempts"], ">=", policy.maxVerifyAttempts), also),
    },
  };
}

export type WrongOutcome =
  | { kind: "counted"; attemptsRemaining: number }
  | { kind: "lock"; until: EpochMs; lock: StateWrite };

/** A wrong code keeps its attempt; the last one allowed locks the user (on what is stored: a success in between reset it). */
export function afterWrongCode(reserved: UserState, policy: AttemptPolicy, now: EpochMs): WrongOutcome {
  const attempts = reserved.attempts ?? 1;
  if (attempts < policy.maxVerifyAttempts) {
    return { kind: "counted", attemptsRemaining: policy.maxVerifyAttempts - attempts };
  }
  return { kind: "lock", ...lockWhenSpent(policy, now) };
}

/** The lock of a wrong code was refused: someone else locked first, or a success reset the count. */
export function afterLockRefused(
  old: UserState | undefined,
  policy: AttemptPolicy,
  now: EpochMs,
): { kind: "locked"; until: EpochMs } | { kind: "counted"; attemptsRemaining: number } {
  if (old?.lockedUntil !== undefined && isLocked(old, now)) return { kind: "locked", until: old.lockedUntil };
  const stored = Math.min(old?.attempts ?? 0, policy.maxVerifyAttempts - 1);
  return { kind: "counted", attemptsRemaining: policy.maxVerifyAttempts - stored };
}

/** Not a guess after all (unknown or expired challenge, a replay, a fault): the attempt goes back. */
export const giveBackAttempt = (now: EpochMs): StateWrite => ({
  change: { add: [[["attempts"], -1]] },
  condition: and(cmp(["attempts"], ">", 0), notLocked(now)),
});

/** A right code: the count starts again, and the verification is the one step-up rests on. */
export const approveAttempt = (now: EpochMs, countsAsVerification = true): StateWrite => ({
  change: { set: [[["attempts"], 0], ...(countsAsVerification ? ([[["verifiedAt"], now]] as const) : [])] },
  condition: notLocked(now),
});

export const unlock = (): StateWrite => ({ change: { set: [[["attempts"], 0]], remove: [["lockedUntil"]] } });
