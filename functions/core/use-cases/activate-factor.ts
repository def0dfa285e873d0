import { auditDenial, recordAudit } from "../audit.ts";
import { DomainError } from "../errors.ts";
import { assertNotLocked, lockedError, PENDING_FACTOR_TTL_SECONDS } from "../policy.ts";
import type { Deps, Factor } from "../ports.ts";
import { generateRecoveryCodes, recoveryCodeHash } from "../recovery.ts";
import { decryptSecret } from "../secret-box.ts";
import { matchTotp } from "../totp.ts";
import { type AppContext, loadAppContext } from "./app-config.ts";
import { holdingAttempt, releaseAttempt, reserveAttempt, wrongAttempt } from "./attempt.ts";
import { redeemCode } from "./redeem-code.ts";
import { assertSteppedUp } from "./step-up.ts";

export interface Activation {
  factor: Factor;
  /** Only when this activation turned MFA on for the user; never shown again. */
  recoveryCodes?: string[];
}

/** Confirms a pending factor with its first code: the code sent to it, or the authenticator app's current one. */
export async function activateFactor(
  deps: Deps,
  input: { appId: string; userId: string; factorId: string; code: string; ip?: string },
): Promise<Activation> {
  const ctx = await loadAppContext(deps, input.appId);
  const event = { appId: input.appId, userId: input.userId, ip: input.ip, type: "factor.activated" as const };
  const activation = await auditDenial(deps, event, () => activate(deps, ctx, input));
  await recordAudit(deps, {
    ...event,
    channel: activation.factor.type,
    destination: activation.factor.destination,
    outcome: activation.recoveryCodes ? "mfa_enabled" : "activated",
  });
  return activation;
}

async function activate(
  deps: Deps,
  ctx: AppContext,
  input: { appId: string; userId: string; factorId: string; code: string },
): Promise<Activation> {
  const [factor, state] = await Promise.all([
    deps.store.getFactor(input.appId, input.userId, input.factorId),
    deps.store.getUserState(input.appId, input.userId),
  ]);
  const now = deps.clock.now();
  assertNotLocked(state, now);
  if (
    !factor ||
    (factor.status === "pending" && now - factor.createdAt > PENDING_FACTOR_TTL_SECONDS * 1000)
  ) {
    throw new DomainError(
      "factor_not_found",
      "No such factor for this user (a pending one lives a day: enroll again).",
    );
  }
  if (factor.status === "active") throw new DomainError("factor_exists", "This factor is already active.");
  // With MFA on, a new factor is a way in: even one enrolled before MFA was on needs a fresh verification.
  if (state?.enabled) assertSteppedUp(ctx, state, now);

  const totpAt = factor.type === "totp" ? await checkTotp(deps, ctx, factor, input.code) : undefined;
  if (factor.type !== "totp") {
    if (!factor.activationChallengeId)
      throw new DomainError("factor_not_found", "No such factor for this user.");
    await redeemCode(deps, ctx, {
      userId: input.userId,
      challengeId: factor.activationChallengeId,
      code: input.code,
      purposes: ["activation"],
    });
  }

  const recoveryCodes = generateRecoveryCodes(ctx.config.recoveryCodes.count);
  const { pepper } = await deps.secrets.serviceSecret();
  const activatedAt = deps.clock.now();
  const outcome = await deps.store.activateFactor(factor, {
    now: activatedAt,
    totpAt,
    recoveryCodeHashes: recoveryCodes.map((code) =>
      recoveryCodeHash(pepper, input.appId, input.userId, code),
    ),
  });
  if (!outcome.ok) {
    if (outcome.reason === "locked") throw lockedError(outcome.lockedUntil);
    // The code was right; only the factor's fate changed meanwhile: not a guess.
    await releaseAttempt(deps, ctx, input.userId);
    if (outcome.reason === "factor_exists") {
      throw new DomainError("factor_exists", `The user already has an active ${factor.type} factor.`);
    }
    throw new DomainError("factor_not_found", "The factor was replaced by a newer enrollment.");
  }
  const activated: Factor = { ...factor, status: "active", activatedAt };
  return outcome.turnedMfaOn ? { factor: activated, recoveryCodes } : { factor: activated };
}

async function checkTotp(deps: Deps, ctx: AppContext, factor: Factor, code: string): Promise<number> {
  if (!factor.totpSecret) throw new DomainError("factor_not_found", "No such factor for this user.");
  const { totpSecret } = factor;
  const attempt = await reserveAttempt(deps, ctx, factor.userId);
  const step = await holdingAttempt(deps, ctx, factor.userId, async () => {
    const secret = decryptSecret(totpSecret, await deps.secrets.serviceSecret(), factor.factorId);
    return matchTotp(ctx.config.totp, secret, code, deps.clock.now());
  });
  if (step === undefined) throw await wrongAttempt(deps, ctx, factor.userId, attempt);
  return step;
}
