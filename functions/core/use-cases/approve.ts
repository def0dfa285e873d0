import { lockedError } from "../policy.ts";
import type { Deps, VerificationMethod } from "../ports.ts";
import { newSessionToken, sessionTokenHash } from "../sessions.ts";
import type { AppContext } from "./app-config.ts";

export interface Approval {
  status: "approved";
  method: VerificationMethod;
  sessionToken: string;
  sessionExpiresAt: number;
  recoveryCodesRemaining: number;
}

/** A right code: reset the wrong-code count (refused if the user got locked meanwhile), then issue a session. */
export async function approve(
  deps: Deps,
  ctx: AppContext,
  input: { userId: string; method: VerificationMethod; factorId?: string },
): Promise<Approval> {
  const now = deps.clock.now();
  const outcome = await deps.store.approve(ctx.app.appId, input.userId, { now, factorId: input.factorId });
  if (!outcome.ok) throw lockedError(outcome.lockedUntil);
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
