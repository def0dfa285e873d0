import { lockedError, lockedUntil } from "../policy.ts";
import type { Deps } from "../ports.ts";
import { normalizeRecoveryCode, recoveryCodeHash } from "../recovery.ts";
import { loadAppContext } from "./app-config.ts";
import { type Approval, approve } from "./approve.ts";
import { redeemCode } from "./redeem-code.ts";
import { wrongCode } from "./wrong-code.ts";

export interface VerifyInput {
  appId: string;
  userId: string;
  code: string;
  challengeId?: string;
}

/** With a challenge id: that sms/email code. Without: a recovery code (TOTP joins here with its factor). */
export async function verifyCode(deps: Deps, input: VerifyInput): Promise<Approval> {
  const ctx = await loadAppContext(deps, input.appId);
  if (input.challengeId !== undefined) {
    const challenge = await redeemCode(deps, ctx, {
      userId: input.userId,
      challengeId: input.challengeId,
      code: input.code,
      purposes: ["login", "step_up", "password_change"],
    });
    return approve(deps, ctx, {
      userId: input.userId,
      method: challenge.channel,
      factorId: challenge.factorId,
    });
  }

  const recovery = normalizeRecoveryCode(input.code);
  if (recovery !== undefined) {
    const { pepper } = await deps.secrets.serviceSecret();
    const now = deps.clock.now();
    const hash = recoveryCodeHash(pepper, input.appId, input.userId, recovery);
    const result = await deps.store.consumeRecoveryCode(input.appId, input.userId, hash, now);
    if (result === "consumed") return approve(deps, ctx, { userId: input.userId, method: "recovery" });
    if (result === "locked") {
      const state = await deps.store.getUserState(input.appId, input.userId);
      throw lockedError(lockedUntil(state, now) ?? now);
    }
    throw await wrongCode(deps, ctx.config, input.appId, input.userId);
  }

  const now = deps.clock.now();
  const state = await deps.store.getUserState(input.appId, input.userId);
  const until = lockedUntil(state, now);
  if (until !== undefined) throw lockedError(until);
  throw await wrongCode(deps, ctx.config, input.appId, input.userId);
}
