import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { StateWrite } from "../model/state-write.ts";
import type { UserState } from "../model/user.ts";
import type { EpochMs } from "../ports.ts";

/** The newest sessions the user item remembers, for the admin view's count. */
const TRACKED_SESSIONS = 10;

export interface SessionClaims {
  appId: string;
  userId: string;
  /** The user's session generation at approval: any revocation since makes it stale. */
  gen: number;
  issuedAt: EpochMs;
  expiresAt: EpochMs;
  method: string;
}

const sessionKey = (pepper: string): Buffer =>
  createHmac("sha256", pepper).update("session-token-key|v1").digest();

/**
 * Session tokens need no write of their own: the claims are signed (HMAC-SHA256 with a key
 * derived from the service pepper) and revocation is a generation on the user item and a
 * cut-off time on the app item.
 */
export function issueSessionToken(pepper: string, claims: SessionClaims): string {
  const payload = Buffer.from(
    JSON.stringify({
      a: claims.appId,
      u: claims.userId,
      g: claims.gen,
      i: claims.issuedAt,
      e: claims.expiresAt,
      m: claims.method,
      n: randomBytes(12).toString("base64url"),
    }),
  ).toString("base64url");
  const mac = createHmac("sha256", sessionKey(pepper)).update(payload).digest("base64url");
  return `otps_${payload}.${mac}`;
}

export function readSessionToken(pepper: string, token: string): SessionClaims | undefined {
  const match = /^otps_([A-Za-z0-9_-]{1,1024})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match?.[1] || !match[2]) return undefined;
  // Compared as text: base64url's last character carries spare bits, so comparing decoded bytes
  // would also accept other spellings of the same signature (one session, several tokens).
  const expected = Buffer.from(createHmac("sha256", sessionKey(pepper)).update(match[1]).digest("base64url"));
  const given = Buffer.from(match[2]);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const c = JSON.parse(Buffer.from(match[1], "base64url").toString("utf8")) as Record<string, unknown>;
    if (
      typeof c.a !== "string" ||
      typeof c.u !== "string" ||
      typeof c.g !== "number" ||
      typeof c.i !== "number" ||
      typeof c.e !== "number" ||
      typeof c.m !== "string"
    )
      return undefined;
    return { appId: c.a, userId: c.u, gen: c.g, issuedAt: c.i, expiresAt: c.e, method: c.m };
  } catch {
    return undefined;
  }
}

export type SessionValidity = { valid: true; userId: string; expiresAt: EpochMs } | { valid: false };

/** Valid iff for this app, unexpired, issued after the app's cut-off, and of the user's current generation. */
export function sessionValidity(
  claims: SessionClaims | undefined,
  appId: string,
  app: { sessionsNotBefore?: EpochMs } | undefined,
  state: UserState | undefined,
  now: EpochMs,
): SessionValidity {
  if (!claims || !app || claims.appId !== appId || claims.expiresAt <= now) return { valid: false };
  if (claims.issuedAt <= (app.sessionsNotBefore ?? 0)) return { valid: false };
  if (!state || claims.gen !== (state.sessionGen ?? 0)) return { valid: false };
  return { valid: true, userId: claims.userId, expiresAt: claims.expiresAt };
}

/** Part of an approval: remember this session's issue time among the newest few. */
export function trackSession(state: UserState | undefined, now: EpochMs, durationMs: number): StateWrite {
  const live = (state?.sessions ?? []).filter((at) => at + durationMs > now).slice(-(TRACKED_SESSIONS - 1));
  return { change: { set: [[["sessions"], [...live, now]]] } };
}

export function activeSessions(
  state: UserState | undefined,
  app: { sessionsNotBefore?: EpochMs } | undefined,
  now: EpochMs,
  durationMs: number,
): number {
  const notBefore = app?.sessionsNotBefore ?? 0;
  return (state?.sessions ?? []).filter((at) => at > notBefore && at + durationMs > now).length;
}

/** Every session of the user issued so far stops validating. */
export const revokeSessions = (): StateWrite => ({
  change: { add: [[["sessionGen"], 1]], remove: [["sessions"]] },
});
