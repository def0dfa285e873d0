import { describe, expect, it } from "vitest";
import { defaultAppConfig } from "#core/config";
import {
  clientIpKey,
  conversionCount,
  decideBreaker,
  judgeCounters,
  plannedCounters,
} from "#core/rules/sms-protection";

const protection = () => structuredClone(defaultAppConfig("Acme").smsProtection);
const NOON = Date.UTC(2030, 0, 1, 12, 30);

describe("clientIpKey", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["2001:db8:1:2::1", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002:ffff:0:0:9", "2001:db8:1:2::/64"],
    ["2001:db8::", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
  ])("%s counts as %s", (ip, key) => {
    expect(clientIpKey(ip)).toBe(key);
  });
});

describe("plannedCounters", () => {
  it("enforce puts the caps in the writes; monitor only watches them; a country override replaces the hourly cap", () => {
    const p = protection();
    p.perCountry.overrides = { NG: 5 };
    const send = { to: "+2348031234567", country: "NG", clientIp: "198.51.100.1" };
    const enforced = plannedCounters(p, send, NOON);
    expect(enforced.map((c) => c.write.partition)).toEqual(["to#+2348031234567", "ip#198.51.100.1", "app"]);
    expect(enforced[2]?.write.caps).toEqual({ sent: 10_000, "NG#h12": 5 });
    // a sent SMS counts in its conversion window and its 5-minute bucket (12:30 is bucket 6)
    expect(conversionCount(p, "NG", NOON, "sent", 300)).toMatchObject({
      sort: "conv#2030-01-01T12:00:00.000Z#NG",
      add: { sent: 1, b6: 1 },
      caps: {},
    });
    p.mode = "monitor";
    expect(plannedCounters(p, send, NOON).every((c) => Object.keys(c.write.caps).length === 0)).toBe(true);
  });

  it("counts no IP when the client app sent none", () => {
    expect(plannedCounters(protection(), { to: "+14155550123", country: "US" }, NOON)).toHaveLength(2);
  });
});

describe("judgeCounters", () => {
  const planned = plannedCounters(protection(), { to: "+14155550123", country: "US" }, NOON);
  const ok = { ok: true as const, counts: { day: 1, h12: 1, sent: 1, "US#h12": 1 } };

  it("names the day's limit when the day is full, with the wait to midnight UTC", () => {
    const refusal = judgeCounters(planned, [{ ok: false, counts: { day: 10, h12: 2 } }, ok, ok, ok]);
    expect(refusal).toEqual({ reason: "destination_limit", retryAt: Date.UTC(2030, 0, 2) });
  });

  it("names the hour's limit when only the hour is full", () => {
    const refusal = judgeCounters(planned, [{ ok: false, counts: { day: 6, h12: 5 } }, ok, ok, ok]);
    expect(refusal).toEqual({ reason: "destination_limit", retryAt: Date.UTC(2030, 0, 1, 13) });
  });

  it("reports a refused counter even when a give-back has made room since", () => {
    const refusal = judgeCounters(planned, [ok, { ok: false, counts: { sent: 3 } }, ok]);
    expect(refusal?.reason).toBe("app_limit");
  });

  it("in monitor mode reports a count past its limit", () => {
    const refusal = judgeCounters(planned, [{ ok: true, counts: { day: 3, h12: 6 } }, ok, ok]);
    expect(refusal?.reason).toBe("destination_limit");
    expect(judgeCounters(planned, [ok, ok, ok])).toBeUndefined();
  });
});

describe("decideBreaker", () => {
  const p = protection();
  p.conversion.minSends = 10;
  p.conversion.minRate = 0.2;
  const window = Date.UTC(2030, 0, 1, 12);
  const TTL = 300;
  /** Counts of sends made in the window's first bucket (12:00-12:05), judged at 12:30: their codes are dead. */
  const settled = (sent: number, verified = 0) => ({ sent, verified, b0: sent });

  it("opens once minSends SMS whose codes are dead went out and fewer than minRate converted", () => {
    expect(decideBreaker(p, undefined, window, settled(9), NOON, TTL).kind).toBe("pass");
    const open = decideBreaker(p, undefined, window, settled(10, 1), NOON, TTL);
    expect(open).toMatchObject({ kind: "open", until: NOON + 3600_000 });
    expect(decideBreaker(p, undefined, window, settled(10, 2), NOON, TTL).kind).toBe("pass");
  });

  it("leaves out sends whose codes may still be typed in: a burst of real sign-ups is not unconverted", () => {
    // 30 sends in the last five minutes (bucket 5: 12:25-12:30), nobody has typed a code yet
    const burst = { sent: 30, verified: 0, b5: 30 };
    expect(decideBreaker(p, undefined, window, burst, NOON, TTL).kind).toBe("pass");
    // ten minutes later the same codes are dead
    expect(decideBreaker(p, undefined, window, burst, NOON + 600_000, TTL).kind).toBe("open");
  });

  it("judges only what came after the breaker last closed in this window", () => {
    const closed = { pausedUntil: null, window, sentBase: 40, verifiedBase: 0, rev: 3 };
    expect(decideBreaker(p, closed, window, settled(45), NOON, TTL).kind).toBe("pass");
    // another window: the base no longer applies
    const older = { ...closed, window: window - 3600_000 };
    expect(decideBreaker(p, older, window, settled(45), NOON, TTL).kind).toBe("open");
  });

  it("refuses while paused and closes once the pause is over, judging afresh from then", () => {
    const paused = { pausedUntil: NOON + 1000, window, sentBase: 0, verifiedBase: 0, rev: 1 };
    expect(decideBreaker(p, paused, window, settled(30), NOON, TTL)).toEqual({
      kind: "paused",
      until: NOON + 1000,
    });
    const close = decideBreaker(p, paused, window, settled(30, 2), NOON + 1000, TTL);
    expect(close).toEqual({
      kind: "close",
      next: { pausedUntil: null, window, sentBase: 30, verifiedBase: 2, rev: 2 },
    });
  });
});
