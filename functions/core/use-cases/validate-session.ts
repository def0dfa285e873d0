import type { Deps } from "../ports.ts";
import { readSessionToken, type SessionValidity, sessionValidity } from "../rules/sessions.ts";

export type { SessionValidity };

/** Valid iff signed by this service for this app, unexpired, and not revoked for the user or the app. */
export async function validateSession(
  deps: Pick<Deps, "store" | "clock" | "secrets">,
  input: { appId: string; sessionToken: string },
): Promise<SessionValidity> {
  const { pepper } = await deps.secrets.serviceSecret();
  const claims = readSessionToken(pepper, input.sessionToken);
  if (!claims || claims.appId !== input.appId) return { valid: false };
  const [app, state] = await Promise.all([
    deps.store.getApp(claims.appId, { fresh: true }),
    deps.store.getUserState(claims.appId, claims.userId),
  ]);
  return sessionValidity(claims, input.appId, app, state, deps.clock.now());
}
