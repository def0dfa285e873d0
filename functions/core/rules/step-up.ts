import { absent, type Condition, cmp } from "../model/state-write.ts";
import type { UserState } from "../model/user.ts";
import type { EpochMs } from "../ports.ts";

/**
 * Step-up: while MFA is on, sensitive changes need a successful verification of the user
 * within `stepUpSeconds`. Decided on a read, and written as a condition too, so MFA turning
 * on between the read and the write cannot let a change through unproven.
 */
export const steppedUp = (state: UserState | undefined, stepUpSeconds: number, now: EpochMs): boolean =>
  state?.enabled !== true ||
  (state.verifiedAt !== undefined && now - state.verifiedAt <= stepUpSeconds * 1000);

export const stepUpHolds = (state: UserState | undefined, stepUpSeconds: number, now: EpochMs): Condition =>
  state?.enabled === true ? cmp(["verifiedAt"], ">=", now - stepUpSeconds * 1000) : absent("enabled");
