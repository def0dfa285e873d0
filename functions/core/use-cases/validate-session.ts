import type { Deps, EpochMs } from "../ports.ts";
import { sessionTokenHash } from "../sessions.ts";

export type SessionValidity = { valid: true; userId: string; expiresAt: EpochMs } | { valid: false };

/** Valid iff issued for this app, not expired, and not issued before a revocation of the user or the app. */
export async function validateSession(
  deps: Pick<Deps, "store" | "clock">,
  input: { appId: string; sessionToken: string },
): Promise<SessionValidity> {
  const session = await deps.store.getSession(sessionTokenHash(input.sessionToken));
  const now = deps.clock.now();
  if (!session || session.appId !== input.appId || session.expiresAt <= now) return { valid: false };
  const [app, state] = await Promise.all([
    deps.store.getApp(session.appId, { fresh: true }),
    deps.store.getUserState(session.appId, session.userId),
  ]);
  const notBefore = Math.max(app?.sessionsNotBefore ?? 0, state?.sessionsNotBefore ?? 0);
  if (!app || session.issuedAt <= notBefore) return { valid: false };
  return { valid: true, userId: session.userId, expiresAt: session.expiresAt };
}
