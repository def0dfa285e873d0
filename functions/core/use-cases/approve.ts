import { recordAudit } from "../audit.ts";
import { codeExpiredError, lockedError } from "../policy.ts";
import type { Challenge, Deps, VerificationMethod } from "../ports.ts";
import { newSessionToken, sessionTokenHash } from "../sessions.ts";
import type { AppContext } from "./app-config.ts";
import { releaseAttempt, replayedCode } from "./attempt.ts";

export interface Approval {
  status: "approved";
  method: VerificationMethod;
  sessionToken: string;
  sessionExpiresAt: number;
  recoveryCodesRemaining: number;
}

/**
 * A right code: reset the wrong-code count (refused if the user got locked meanwhile, and
 * for TOTP if its time step was used already), then issue a session.
 */
export async function approve(
  deps: Deps,
  ctx: AppContext,
  input: {
    userId: string;
    method: VerificationMethod;
    factorId?: string;
    totpAt?: number;
    /** A sent code's challenge: it must still be the user's newest of its purpose. */
    challenge?: Challenge;
    ip?: string;
  },
): Promise<Approval> {
  const now = deps.clock.now();
  const { challenge } = input;
  const outcome = await deps.store.approve(ctx.app.appId, input.userId, {
    now,
    factorId: input.factorId,
    totpAt: input.totpAt,
    ...(challenge ? { challenge: { purpose: challenge.purpose, challengeId: challenge.challengeId } } : {}),
  });
  if (!outcome.ok) {
    if ("lockedUntil" in outcome) throw lockedError(outcome.lockedUntil);
    if ("superseded" in outcome) {
      // A newer code was sent meanwhile: this one was right but is no longer valid. Not a guess.
      await releaseAttempt(deps, ctx, input.userId);
      throw codeExpiredError();
    }
    // A parallel request just accepted this TOTP step: this one is a replay, refused but not counted.
    throw await replayedCode(deps, ctx, input.userId);
  }
  const sessionToken = newSessionToken();
  const sessionExpiresAt = now + ctx.config.sessions.durationSeconds * 1000;
  await Promise.all([
    deps.store.putSession({
      tokenHash: sessionTokenHash(sessionToken),
      appId: ctx.app.appId,
      userId: input.userId,
      method: input.method,
      issuedAt: now,
      expiresAt: sessionExpiresAt,
    }),
    recordAudit(deps, {
      appId: ctx.app.appId,
      userId: input.userId,
      ip: input.ip,
      type: "verification.approved",
      channel: input.method,
      outcome: "approved",
    }),
  ]);
  return {
    status: "approved",
    method: input.method,
    sessionToken,
    sessionExpiresAt,
    recoveryCodesRemaining: outcome.state.recoveryCodesRemaining,
  };
}
