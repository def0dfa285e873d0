import { challengeCodeHash } from "../codes.ts";
import { DomainError } from "../errors.ts";
import { codeExpiredError, lockedError, lockedUntil } from "../policy.ts";
import type { Challenge, ChallengePurpose, Deps } from "../ports.ts";
import type { AppContext } from "./app-config.ts";
import { wrongCode } from "./wrong-code.ts";

/**
 * Redeems a sent code in one conditional write (hash matches, unused, not superseded, not
 * expired). Only when that write is refused do we read, to say why: locked, unknown,
 * expired or used, or wrong (and then the wrong code is counted).
 */
export async function redeemCode(
  deps: Deps,
  ctx: AppContext,
  input: { userId: string; challengeId: string; code: string; purposes: readonly ChallengePurpose[] },
): Promise<Challenge> {
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

  const [state, challenge] = await Promise.all([
    deps.store.getUserState(appId, input.userId),
    deps.store.getChallenge(appId, input.userId, input.challengeId),
  ]);
  const until = lockedUntil(state, now);
  if (until !== undefined) throw lockedError(until);
  if (!challenge || !input.purposes.includes(challenge.purpose)) throw challengeNotFound();
  if (challenge.usedAt !== undefined || challenge.supersededAt !== undefined || challenge.expiresAt <= now) {
    throw codeExpiredError();
  }
  if (challenge.verificationId) return redeemWithProvider(deps, ctx, challenge, input);
  throw await wrongCode(deps, ctx.config, appId, input.userId);
}

/** The provider checks its own code; then claiming the challenge is still one conditional write, so only one request wins. */
async function redeemWithProvider(
  deps: Deps,
  ctx: AppContext,
  challenge: Challenge,
  input: { userId: string; challengeId: string; code: string; purposes: readonly ChallengePurpose[] },
): Promise<Challenge> {
  const verdict = await deps
    .smsVerification(ctx.config)
    .report(challenge.verificationId ?? "", input.code, ctx.config);
  if (verdict === "wrong_code") throw await wrongCode(deps, ctx.config, ctx.app.appId, input.userId);
  if (verdict === "expired") throw codeExpiredError();
  const now = deps.clock.now();
  const claimed = await deps.store.redeemChallenge(
    ctx.app.appId,
    input.userId,
    input.challengeId,
    undefined,
    now,
    input.purposes,
  );
  if (!claimed) throw codeExpiredError();
  return claimed;
}

const challengeNotFound = (): DomainError =>
  new DomainError("challenge_not_found", "No such challenge for this user.");
