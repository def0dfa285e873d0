import { auditDenial } from "../audit.ts";
import { DomainError } from "../errors.ts";
import { codeExpiredError } from "../policy.ts";
import type { Deps } from "../ports.ts";
import { normalizeRecoveryCode, recoveryCodeHash } from "../recovery.ts";
import { decryptSecret } from "../secret-box.ts";
import { matchTotp } from "../totp.ts";
import { type AppContext, loadAppContext } from "./app-config.ts";
import { type Approval, approve } from "./approve.ts";
import {
  currentLock,
  holdingAttempt,
  releaseAttempt,
  replayedCode,
  reserveAttempt,
  wrongAttempt,
} from "./attempt.ts";
import { redeemCode } from "./redeem-code.ts";

export interface VerifyInput {
  appId: string;
  userId: string;
  code: string;
  challengeId?: string;
  ip?: string;
}

/**
 * With a challenge id: that sms/email code. Without: a recovery code when the input has
 * that format, else the code of the user's authenticator app. Every check counts one
 * attempt before comparing; a refusal is audited with its code.
 */
export async function verifyCode(deps: Deps, input: VerifyInput): Promise<Approval> {
  const ctx = await loadAppContext(deps, input.appId);
  const event = {
    appId: input.appId,
    userId: input.userId,
    ip: input.ip,
    type: "verification.denied" as const,
  };
  return auditDenial(deps, event, () => verifyWith(deps, ctx, input));
}

async function verifyWith(deps: Deps, ctx: AppContext, input: VerifyInput): Promise<Approval> {
  const who = { userId: input.userId, ip: input.ip };
  if (input.challengeId !== undefined) {
    const challenge = await redeemCode(deps, ctx, {
      userId: input.userId,
      challengeId: input.challengeId,
      code: input.code,
      purposes: ["login", "step_up", "password_change"],
    });
    return approve(deps, ctx, {
      ...who,
      method: challenge.channel,
      factorId: challenge.factorId,
      challenge,
    });
  }
  const recovery = normalizeRecoveryCode(input.code);
  return recovery === undefined ? verifyTotp(deps, ctx, input) : verifyRecovery(deps, ctx, input, recovery);
}

/** Each recovery code is removed from the set by one conditional write: it works once. */
async function verifyRecovery(
  deps: Deps,
  ctx: AppContext,
  input: VerifyInput,
  code: string,
): Promise<Approval> {
  const attempt = await reserveAttempt(deps, ctx, input.userId);
  const result = await holdingAttempt(deps, ctx, input.userId, async () => {
    const { pepper } = await deps.secrets.serviceSecret();
    const hash = recoveryCodeHash(pepper, input.appId, input.userId, code);
    return deps.store.consumeRecoveryCode(input.appId, input.userId, hash, deps.clock.now());
  });
  if (result === "consumed") {
    return approve(deps, ctx, { userId: input.userId, ip: input.ip, method: "recovery" });
  }
  if (result === "locked") throw await currentLock(deps, ctx, input.userId);
  if (result === "used") {
    // A spent code is not a guess: same answer as a used challenge, and the attempt is given back.
    await releaseAttempt(deps, ctx, input.userId);
    throw codeExpiredError();
  }
  throw await wrongAttempt(deps, ctx, input.userId, attempt);
}

/** Each time step is accepted once: the match must be newer than the last accepted step, and storing it is conditional. */
async function verifyTotp(deps: Deps, ctx: AppContext, input: VerifyInput): Promise<Approval> {
  // Reading the factor beside the reservation is safe: nothing is compared before the attempt is counted.
  const [reservation, records] = await Promise.allSettled([
    reserveAttempt(deps, ctx, input.userId),
    deps.store.loadUser(input.appId, input.userId),
  ]);
  if (reservation.status === "rejected") throw reservation.reason;
  const attempt = reservation.value;
  const { factorId, step, replayed } = await holdingAttempt(deps, ctx, input.userId, async () => {
    if (records.status === "rejected") throw records.reason;
    const { state, factors } = records.value;
    const factor = factors.find((f) => f.factorId === state?.activeFactors.totp && f.status === "active");
    if (!factor?.totpSecret) {
      await releaseAttempt(deps, ctx, input.userId);
      throw new DomainError(
        "challenge_not_found",
        "Pass the challengeId of the code that was sent; this user has no authenticator app.",
      );
    }
    const secret = decryptSecret(factor.totpSecret, await deps.secrets.serviceSecret(), factor.factorId);
    const now = deps.clock.now();
    const fresh = matchTotp(ctx.config.totp, secret, input.code, now, state?.lastTotpAt);
    // A right code of a step already used: a replay (or the user's own double submit), not a guess.
    const used = fresh === undefined && matchTotp(ctx.config.totp, secret, input.code, now) !== undefined;
    return { factorId: factor.factorId, step: fresh, replayed: used };
  });
  if (replayed) throw await replayedCode(deps, ctx, input.userId);
  if (step === undefined) throw await wrongAttempt(deps, ctx, input.userId, attempt);
  return approve(deps, ctx, {
    userId: input.userId,
    ip: input.ip,
    method: "totp",
    factorId,
    totpAt: step,
  });
}
