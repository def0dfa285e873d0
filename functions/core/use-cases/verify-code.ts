import { DomainError } from "../errors.ts";
import { lockedError, lockedUntil } from "../policy.ts";
import type { Deps, UserState } from "../ports.ts";
import { normalizeRecoveryCode, recoveryCodeHash } from "../recovery.ts";
import { decryptSecret } from "../secret-box.ts";
import { matchTotp } from "../totp.ts";
import { type AppContext, loadAppContext } from "./app-config.ts";
import { type Approval, approve } from "./approve.ts";
import { redeemCode } from "./redeem-code.ts";
import { wrongCode } from "./wrong-code.ts";

export interface VerifyInput {
  appId: string;
  userId: string;
  code: string;
  challengeId?: string;
}

/**
 * With a challenge id: that sms/email code. Without: a recovery code when the input has
 * that format, else the code of the user's authenticator app.
 */
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
  return recovery === undefined ? verifyTotp(deps, ctx, input) : verifyRecovery(deps, ctx, input, recovery);
}

async function verifyRecovery(
  deps: Deps,
  ctx: AppContext,
  input: VerifyInput,
  code: string,
): Promise<Approval> {
  const { pepper } = await deps.secrets.serviceSecret();
  const now = deps.clock.now();
  const hash = recoveryCodeHash(pepper, input.appId, input.userId, code);
  const result = await deps.store.consumeRecoveryCode(input.appId, input.userId, hash, now);
  if (result === "consumed") return approve(deps, ctx, { userId: input.userId, method: "recovery" });
  if (result === "locked") throw await lockedNow(deps, input);
  throw await wrongCode(deps, ctx.config, input.appId, input.userId);
}

/** Each time step is accepted once: the match must be newer than the last accepted step, and storing it is conditional. */
async function verifyTotp(deps: Deps, ctx: AppContext, input: VerifyInput): Promise<Approval> {
  const { state, factors } = await deps.store.loadUser(input.appId, input.userId);
  const now = deps.clock.now();
  const until = lockedUntil(state, now);
  if (until !== undefined) throw lockedError(until);
  const factor = factors.find((f) => f.factorId === state?.activeFactors.totp && f.status === "active");
  if (!factor?.totpSecret) {
    throw new DomainError(
      "challenge_not_found",
      "Pass the challengeId of the code that was sent; this user has no authenticator app.",
    );
  }
  const secret = decryptSecret(factor.totpSecret, await deps.secrets.serviceSecret(), factor.factorId);
  const step = matchTotp(ctx.config.totp, secret, input.code, now, lastStep(state));
  if (step === undefined) throw await wrongCode(deps, ctx.config, input.appId, input.userId);
  return approve(deps, ctx, {
    userId: input.userId,
    method: "totp",
    factorId: factor.factorId,
    totpStep: step,
  });
}

const lastStep = (state: UserState | undefined): number | undefined => state?.lastTotpStep;

async function lockedNow(deps: Deps, input: VerifyInput): Promise<Error> {
  const now = deps.clock.now();
  const state = await deps.store.getUserState(input.appId, input.userId);
  return lockedError(lockedUntil(state, now) ?? now);
}
