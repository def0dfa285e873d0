import { and, cmp, eq, type StateWrite, still } from "../model/state-write.ts";
import { isLocked, type UserState } from "../model/user.ts";
import type { EpochMs } from "../ports.ts";
import { notLocked } from "./attempts.ts";

export interface SendPolicy {
  maxCodeRequests: number;
  /** The window, and the wait once it is full. */
  windowSeconds: number;
}

export type SendDecision =
  | { kind: "locked"; until: EpochMs }
  | { kind: "rate_limited"; retryAt: EpochMs }
  | { kind: "reserve"; windowEnd: EpochMs; write: StateWrite };

/**
 * `maxCodeRequests` codes per window, then none until the wait is over. A compare-and-set on
 * what was read: under contention one writer wins each round and the others decide again.
 */
export function reserveSend(state: UserState | undefined, policy: SendPolicy, now: EpochMs): SendDecision {
  if (state?.lockedUntil !== undefined && isLocked(state, now))
    return { kind: "locked", until: state.lockedUntil };
  const windowOpen = state?.sendWindowEnd !== undefined && state.sendWindowEnd > now;
  const count = windowOpen ? (state?.sends ?? 0) : 0;
  if (windowOpen && count >= policy.maxCodeRequests) {
    return { kind: "rate_limited", retryAt: state?.sendWindowEnd ?? now };
  }
  // The window starts with its first send; reaching the maximum restarts the wait from now.
  const reachesMax = count + 1 >= policy.maxCodeRequests;
  const windowEnd =
    windowOpen && !reachesMax ? (state?.sendWindowEnd ?? now) : now + policy.windowSeconds * 1000;
  return {
    kind: "reserve",
    windowEnd,
    write: {
      change: {
        set: [
          [["sends"], count + 1],
          [["sendWindowEnd"], windowEnd],
        ],
      },
      condition: and(
        still(["sends"], state?.sends),
        still(["sendWindowEnd"], state?.sendWindowEnd),
        notLocked(now),
      ),
    },
  };
}

/** A send that no provider accepted is not counted. */
export const giveBackSend = (windowEnd: EpochMs): StateWrite => ({
  change: { add: [[["sends"], -1]] },
  condition: and(cmp(["sends"], ">", 0), eq(["sendWindowEnd"], windowEnd)),
});
