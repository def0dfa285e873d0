import { describe, expect, it } from "vitest";
import {
  activeSessions,
  issueSessionToken,
  readSessionToken,
  revokeSessions,
  type SessionClaims,
  sessionValidity,
  trackSession,
} from "#core/rules/sessions";
import { changeOf } from "../../support/conditions.ts";

const T0 = Date.UTC(2030, 0, 1);
const PEPPER = "rules-test-pepper";
const HOUR = 3_600_000;

const claims = (patch: Partial<SessionClaims> = {}): SessionClaims => ({
  appId: "app1",
  userId: "alice",
  gen: 0,
  issuedAt: T0,
  expiresAt: T0 + HOUR,
  method: "email",
  ...patch,
});

/** A token's payload with one claim changed, re-encoded but not re-signed. */
function forged(token: string, change: (payload: Record<string, unknown>) => void): string {
  const [payload, mac] = token.slice("otps_".length).split(".");
  const decoded = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")) as Record<
    string,
    unknown
  >;
  change(decoded);
  return `otps_${Buffer.from(JSON.stringify(decoded)).toString("base64url")}.${mac}`;
}

describe("session tokens", () => {
  it("carry their claims, signed", () => {
    const token = issueSessionToken(PEPPER, claims());
    expect(token).toMatch(/^otps_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(readSessionToken(PEPPER, token)).toEqual(claims());
  });

  it("are never twice the same, even for the same claims", () => {
    expect(issueSessionToken(PEPPER, claims())).not.toBe(issueSessionToken(PEPPER, claims()));
  });

  it("do not carry the pepper or anything derived from it in the clear", () => {
    const token = issueSessionToken(PEPPER, claims());
    expect(Buffer.from(token.slice(5).split(".")[0] ?? "", "base64url").toString()).not.toContain(PEPPER);
  });

  it("that were tampered with are not read: another user, a later expiry, a newer generation, the signature", () => {
    const token = issueSessionToken(PEPPER, claims());
    const tampered = [
      forged(token, (p) => {
        p.u = "mallory";
      }),
      forged(token, (p) => {
        p.e = T0 + 1000 * HOUR;
      }),
      forged(token, (p) => {
        p.g = 5;
      }),
      forged(token, (p) => {
        p.a = "app2";
      }),
      `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`,
      // the same signature bytes spelled otherwise (the last character's spare bits)
      `${token.slice(0, -1)}${String.fromCharCode(token.charCodeAt(token.length - 1) ^ 1)}`,
      token.replace(".", ""),
      `${token}x`,
    ];
    for (const bad of tampered)
      expect({ bad, read: readSessionToken(PEPPER, bad) }).toEqual({ bad, read: undefined });
  });

  it("signed under another pepper, or not tokens at all, are not read", () => {
    const token = issueSessionToken("another-pepper", claims());
    expect(readSessionToken(PEPPER, token)).toBeUndefined();
    for (const bad of ["", "otps_", "otps_.", "Bearer x", `otps_${"A".repeat(10)}.${"B".repeat(43)}`]) {
      expect(readSessionToken(PEPPER, bad)).toBeUndefined();
    }
  });
});

describe("sessionValidity", () => {
  const app = { sessionsNotBefore: undefined };
  const state = { sessionGen: 0 };

  it("is valid for its app and user, before it expires, in the user's current generation", () => {
    expect(sessionValidity(claims(), "app1", app, state, T0 + 1)).toEqual({
      valid: true,
      userId: "alice",
      expiresAt: T0 + HOUR,
    });
    // a user item that never counted a generation is generation 0
    expect(sessionValidity(claims(), "app1", app, {}, T0 + 1).valid).toBe(true);
  });

  it("is not valid for another app", () => {
    expect(sessionValidity(claims(), "app2", app, state, T0 + 1)).toEqual({ valid: false });
  });

  it("ends when it expires, not a moment later", () => {
    expect(sessionValidity(claims(), "app1", app, state, T0 + HOUR - 1).valid).toBe(true);
    expect(sessionValidity(claims(), "app1", app, state, T0 + HOUR)).toEqual({ valid: false });
  });

  it("ends when the user's sessions were revoked (the generation was bumped)", () => {
    expect(sessionValidity(claims({ gen: 0 }), "app1", app, { sessionGen: 1 }, T0 + 1)).toEqual({
      valid: false,
    });
    expect(sessionValidity(claims({ gen: 1 }), "app1", app, { sessionGen: 1 }, T0 + 1).valid).toBe(true);
  });

  it("ends when every session of the app issued until then was revoked", () => {
    expect(sessionValidity(claims(), "app1", { sessionsNotBefore: T0 }, state, T0 + 1)).toEqual({
      valid: false,
    });
    expect(
      sessionValidity(claims({ issuedAt: T0 + 1 }), "app1", { sessionsNotBefore: T0 }, state, T0 + 2).valid,
    ).toBe(true);
  });

  it("is not valid without claims, without the app, or without the user's item", () => {
    expect(sessionValidity(undefined, "app1", app, state, T0)).toEqual({ valid: false });
    expect(sessionValidity(claims(), "app1", undefined, state, T0)).toEqual({ valid: false });
    expect(sessionValidity(claims(), "app1", app, undefined, T0)).toEqual({ valid: false });
  });
});

describe("revokeSessions", () => {
  it("bumps the user's generation and forgets the tracked sessions", () => {
    const change = changeOf(revokeSessions().change);
    expect(change.add).toEqual({ sessionGen: 1 });
    expect(change.remove).toEqual(["sessions"]);
    expect(revokeSessions().condition).toBeUndefined();
  });
});

describe("tracked sessions", () => {
  it("remember the newest ten issue times and drop expired ones", () => {
    const old = Array.from({ length: 12 }, (_, i) => T0 + i);
    const write = trackSession({ sessions: [T0 - 2 * HOUR, ...old] }, T0 + HOUR - 1, HOUR);
    const tracked = changeOf(write.change).set.sessions as number[];
    expect(tracked).toHaveLength(10);
    expect(tracked.at(-1)).toBe(T0 + HOUR - 1);
    expect(tracked).not.toContain(T0 - 2 * HOUR);
    expect(tracked.slice(0, -1)).toEqual(old.slice(-9));
  });

  it("count those unexpired and issued after the app's cut-off", () => {
    const state = { sessions: [T0, T0 + 10, T0 + 20] };
    expect(activeSessions(state, {}, T0 + 30, HOUR)).toBe(3);
    expect(activeSessions(state, { sessionsNotBefore: T0 + 10 }, T0 + 30, HOUR)).toBe(1);
    expect(activeSessions(state, {}, T0 + HOUR + 10, HOUR)).toBe(1);
    expect(activeSessions(undefined, {}, T0, HOUR)).toBe(0);
  });
});
