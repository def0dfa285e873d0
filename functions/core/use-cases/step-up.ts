import { DomainError } from "../errors.ts";
import type { UserState } from "../model/user.ts";
import type { AppContext } from "./app-config.ts";

/** Sensitive changes need a successful verification of the same user within `stepUpSeconds`. */
export function assertSteppedUp(ctx: AppContext, state: UserState | undefined, now: number): void {
  const last = state?.verifiedAt;
  if (last === undefined || now - last > ctx.config.stepUpSeconds * 1000) {
    throw new DomainError(
      "step_up_required",
      `Verify this user again first: this needs a verification within the last ${ctx.config.stepUpSeconds} s.`,
    );
  }
}
