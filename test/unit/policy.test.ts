import { describe, expect, it } from "vitest";
import { type AppConfig, defaultAppConfig } from "#core/config";
import {
  assertNotLocked,
  channelOrder,
  enrollmentRequired,
  lockedUntil,
  minutesOf,
  rateLimitedError,
} from "#core/policy";
import type { UserState } from "#core/ports";

const config = (mfa: Partial<AppConfig["mfa"]>): AppConfig => {
  const base = defaultAppConfig("Acme");
  return { ...base, mfa: { ...base.mfa, ...mfa } };
};

const state = (patch: Partial<UserState>): UserState => ({
  enabled: true,
  attempts: 0,
  sends: 0,
  factors: {},
  ...patch,
});

describe("channelOrder", () => {
  it("auto tries the primary method, then the fallback", () => {
    expect(channelOrder(config({ primaryMethod: "sms", fallbackMethod: "email" }), "auto")).toEqual([
      "sms",
      "email",
    ]);
    expect(channelOrder(config({ primaryMethod: "email", fallbackMethod: "sms" }), "auto")).toEqual([
      "email",
      "sms",
    ]);
  });

  it("auto has no fallback when it is none or the primary itself", () => {
    expect(channelOrder(config({ primaryMethod: "sms", fallbackMethod: "none" }), "auto")).toEqual(["sms"]);
    expect(channelOrder(config({ primaryMethod: "email", fallbackMethod: "email" }), "auto")).toEqual([
      "email",
    ]);
  });

  it("an explicit channel is tried alone, whatever the policy", () => {
    const c = config({ primaryMethod: "sms", fallbackMethod: "email" });
    expect(channelOrder(c, "email")).toEqual(["email"]);
    expect(channelOrder(c, "sms")).toEqual(["sms"]);
  });
});

describe("lock checks", () => {
  const now = 1_000_000;

  it("a lock holds strictly before lockedUntil", () => {
    expect(lockedUntil(state({ lockedUntil: now + 1 }), now)).toBe(now + 1);
    expect(lockedUntil(state({ lockedUntil: now }), now)).toBeUndefined();
    expect(lockedUntil(state({}), now)).toBeUndefined();
    expect(lockedUntil(undefined, now)).toBeUndefined();
  });

  it("assertNotLocked throws locked with lockedUntil as ISO time", () => {
    expect(() => assertNotLocked(state({ lockedUntil: now - 1 }), now)).not.toThrow();
    expect(() => assertNotLocked(state({ lockedUntil: now + 60_000 }), now)).toThrow(
      expect.objectContaining({
        code: "locked",
        extras: { lockedUntil: new Date(now + 60_000).toISOString() },
      }),
    );
  });
});

describe("rateLimitedError", () => {
  it("rounds the wait up to whole seconds, at least 1", () => {
    expect(rateLimitedError(10_500, 0).extras.retryAfterSeconds).toBe(11);
    expect(rateLimitedError(1000, 1000).extras.retryAfterSeconds).toBe(1);
    expect(rateLimitedError(900_000, 0)).toMatchObject({
      code: "rate_limited",
      extras: { retryAfterSeconds: 900 },
    });
  });
});

describe("enrollmentRequired", () => {
  it("is true only when MFA is required, the user has none and is not exempt", () => {
    const required = config({ required: true, exemptUserIds: ["api-bot"] });
    expect(enrollmentRequired(required, "alice", false)).toBe(true);
    expect(enrollmentRequired(required, "alice", true)).toBe(false);
    expect(enrollmentRequired(required, "api-bot", false)).toBe(false);
    expect(enrollmentRequired(config({ required: false }), "alice", false)).toBe(false);
  });
});

describe("minutesOf", () => {
  it("rounds up and never says 0 minutes", () => {
    expect(minutesOf(300)).toBe(5);
    expect(minutesOf(301)).toBe(6);
    expect(minutesOf(30)).toBe(1);
  });
});
