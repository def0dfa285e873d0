import { lockedError } from "../policy.ts";
import type { Deps, VerificationMethod } from "../ports.ts";
import { newSessionToken, sessionTokenHash } from "../sessions.ts";
import type { AppContext } from "./app-config.ts";
import { wrongCode } from "./wrong-code.ts";

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
  input: { userId: string; method: VerificationMethod; factorId?: string; totpStep?: number },
): Promise<Approval> {
  const now = deps.clock.now();
  const outcome = await deps.store.approve(ctx.app.appId, input.userId, {
    now,
    factorId: input.factorId,
    totpStep: input.totpStep,
  });
  if (!outcome.ok) {
    if ("lockedUntil" in outcome) throw lockedError(outcome.lockedUntil);
    // A replayed TOTP step is a wrong code like any other.
    throw await wrongCode(deps, ctx.config, ctx.app.appId, input.userId);
  }
  const sessionToken = newSessionToken();
  const sessionExpiresAt = now + ctx.config.sessions.durationSeconds * 1000;
  await deps.store.putSession({
    tokenHash: sessionTokenHash(sessionToken),
    appId: ctx.app.appId,
    userId: input.userId,
    method: input.method,
    issuedAt: now,
    expiresAt: sessionExpiresAt,
  });
  return {
    status: "approved",
    method: input.method,
    sessionToken,
    sessionExpiresAt,
    recoveryCodesRemaining: outcome.state.recoveryCodesRemaining,
  };
}
