import { challengeCodeHash } from "../codes.ts";
import { DomainError, ProviderError } from "../errors.ts";
import { codeExpiredError } from "../policy.ts";
import type { Challenge, ChallengePurpose, Deps } from "../ports.ts";
import type { AppContext } from "./app-config.ts";
import { holdingAttempt, releaseAttempt, reserveAttempt, wrongAttempt } from "./attempt.ts";

/**
 * Counts the attempt first, then redeems the code in one conditional write (hash matches,
 * unused, not superseded, not expired). Strictly in that order: a redeem run beside a
 * reservation that is then refused would spend a right code for nothing. Only when the
 * redeem is refused do we read, to say why: unknown, expired or used (the attempt is given
 * back), or wrong (it stays counted).
 */
export async function redeemCode(
  deps: Deps,
  ctx: AppContext,
  input: { userId: string; challengeId: string; code: string; purposes: readonly ChallengePurpose[] },
): Promise<Challenge> {
  const attempt = await reserveAttempt(deps, ctx, input.userId);
  return holdingAttempt(deps, ctx, input.userId, async () => {
    const { appId } = ctx.app;
    const { pepper } = await deps.secrets.serviceSecret();
    const now = deps.clock.now();
    const hash = challengeCodeHash(pepper, appId, input.challengeId, input.code);
    const redeemed = await deps.store.redeemChallenge(
      appId,
      input.userId,
      input.challengeId,
      hash,
      now,
      input.purposes,
    );
    if (redeemed) return redeemed;
    const challenge = await deps.store.getChallenge(appId, input.userId, input.challengeId);
    if (!challenge || !input.purposes.includes(challenge.purpose)) {
      await releaseAttempt(deps, ctx, input.userId);
      throw new DomainError("challenge_not_found", "No such challenge for this user.");
    }
    if (
      challenge.usedAt !== undefined ||
      challenge.supersededAt !== undefined ||
      challenge.expiresAt <= now
    ) {
      await releaseAttempt(deps, ctx, input.userId);
      throw codeExpiredError();
    }
    if (challenge.verificationId) return redeemWithProvider(deps, ctx, challenge, input, attempt);
    throw await wrongAttempt(deps, ctx, input.userId, attempt);
  });
}

/** The provider checks its own code; claiming the challenge is still one conditional write, so only one request wins. */
async function redeemWithProvider(
  deps: Deps,
  ctx: AppContext,
  challenge: Challenge,
  input: { userId: string; challengeId: string; code: string; purposes: readonly ChallengePurpose[] },
  attempt: number,
): Promise<Challenge> {
  let verdict: "approved" | "wrong_code" | "expired";
  try {
    verdict = await deps
      .smsVerification(ctx.config)
      .report(challenge.verificationId ?? "", input.code, ctx.config);
  } catch (error) {
    if (error instanceof ProviderError) await releaseAttempt(deps, ctx, input.userId);
    throw error;
  }
  if (verdict === "wrong_code") throw await wrongAttempt(deps, ctx, input.userId, attempt);
  const claimed =
    verdict === "approved" &&
    (await deps.store.redeemChallenge(
      ctx.app.appId,
      input.userId,
      input.challengeId,
      undefined,
      deps.clock.now(),
      input.purposes,
    ));
  if (!claimed) {
    await releaseAttempt(deps, ctx, input.userId);
    throw codeExpiredError();
  }
  return claimed;
}
