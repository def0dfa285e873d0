import { DomainError } from "../errors.ts";
import type { UserState } from "../model/user.ts";
import { steppedUp } from "../rules/step-up.ts";
import type { AppContext } from "./app-config.ts";

export const stepUpRequired = (ctx: AppContext): DomainError =>
  new DomainError(
    "step_up_required",
    `Verify this user again first: this needs a verification within the last ${ctx.config.stepUpSeconds} s.`,
  );

/** While MFA is on, sensitive changes need a successful verification of the same user within `stepUpSeconds`. */
export function assertSteppedUp(ctx: AppContext, state: UserState | undefined, now: number): void {
  if (!steppedUp(state, ctx.config.stepUpSeconds, now)) throw stepUpRequired(ctx);
}
