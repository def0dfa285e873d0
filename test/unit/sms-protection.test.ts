import { describe, expect, it } from "vitest";
import type { AppConfig } from "#core/config";
import { StoreUnavailable } from "#core/errors";
import { activateFactor } from "#core/use-cases/activate-factor";
import { loadAppContext } from "#core/use-cases/app-config";
import { enrollFactor } from "#core/use-cases/enroll-factor";
import { sendChallenge } from "#core/use-cases/send-challenge";
import { resumeCountry, smsProtectionStatus } from "#core/use-cases/sms-protection";
import { domainError, rejection, type TestDeps, testDeps } from "../support/deps.ts";

/*
 * SMS protection on the real store (DynamoStore and its counters on dynalite): what leaves,
 * what is refused, what is counted. SECURITY.md rule 38.
 */

const NUMBER = "+14155550123";
/** Distinct valid US numbers. */
const usNumber = (i: number) => `+1415555${String(1000 + i).padStart(4, "0")}`;

async function app(change?: (c: AppConfig) => void) {
  const d = await testDeps();
  const { appId } = await d.createApp("Acme");
  if (change) await d.configure(appId, change);
  return { d, appId };
}

const enrollSms = (d: TestDeps, appId: string, userId: string, phone: string, clientIp?: string) =>
  enrollFactor(d, { appId, userId, type: "sms", phone, ...(clientIp ? { clientIp } : {}) });

/** Settles every promise; counts the fulfilled ones and the codes of the rejected ones. */
async function outcomes(promises: Promise<unknown>[]) {
  const settled = await Promise.allSettled(promises);
  const codes: Record<string, number> = {};
  let ok = 0;
  for (const s of settled) {
    if (s.status === "fulfilled") ok += 1;
    else {
      const code = (s.reason as { code?: string }).code ?? String(s.reason);
      codes[code] = (codes[code] ?? 0) + 1;
    }
  }
  return { ok, codes };
}

const smsTo = (d: TestDeps, to: string) => d.smsProvider.attempts.filter((m) => m.to === to).length;

describe("SMS protection limits, under parallel requests (SECURITY.md rule 38)", () => {
  it("200 parallel enrollments of one number under 40 user ids send at most perDestination.perHour SMS", async () => {
    const { d, appId } = await app();
    const results = await outcomes(
      Array.from({ length: 200 }, (_, i) => enrollSms(d, appId, `user-${i % 40}`, NUMBER)),
    );
    expect(smsTo(d, NUMBER)).toBe(5);
    expect(results.ok).toBe(5);
    expect(results.codes.sms_blocked).toBe(195);
    const blocked = d.audit.events.filter((e) => e.type === "sms.blocked");
    expect(blocked).toHaveLength(195);
    expect(new Set(blocked.map((e) => e.outcome))).toEqual(new Set(["destination_limit"]));
    // the refused sends gave back what they counted: the number's hour holds exactly the 5 that went
    const ctx = await loadAppContext(d, appId);
    expect((await smsProtectionStatus(d, ctx)).appSentToday).toBe(5);
  });

  it("100 parallel enrollments of different numbers from one client IP send at most perClientIp.perHour SMS", async () => {
    const { d, appId } = await app();
    const results = await outcomes(
      Array.from({ length: 100 }, (_, i) =>
        enrollSms(d, appId, `user-${i % 40}`, usNumber(i), "203.0.113.7"),
      ),
    );
    expect(d.smsProvider.attempts).toHaveLength(10);
    expect(results.ok).toBe(10);
    expect(results.codes.sms_blocked).toBe(90);
    expect(d.audit.events.find((e) => e.type === "sms.blocked")).toMatchObject({
      outcome: "ip_limit",
      ip: "203.0.113.7",
    });
  });

  it("counts an IPv6 client by its /64, so rotating addresses inside it does not help", async () => {
    const { d, appId } = await app((c) => {
      c.smsProtection.perClientIp.perHour = 3;
    });
    for (let i = 0; i < 3; i++) await enrollSms(d, appId, `u${i}`, usNumber(i), `2001:db8:1:2::${i + 1}`);
    const error = await domainError(enrollSms(d, appId, "u9", usNumber(9), "2001:db8:1:2:ffff::9"));
    expect(error.extras).toMatchObject({ reason: "ip_limit" });
    // another /64 is another client
    await enrollSms(d, appId, "u10", usNumber(10), "2001:db8:1:3::1");
    expect(d.smsProvider.attempts).toHaveLength(4);
  });

  it("100 parallel enrollments of different numbers and IPs send at most appPerDay SMS", async () => {
    const { d, appId } = await app((c) => {
      c.smsProtection.appPerDay = 7;
    });
    const results = await outcomes(
      Array.from({ length: 100 }, (_, i) =>
        enrollSms(d, appId, `user-${i % 40}`, usNumber(i), `198.51.100.${i % 250}`),
      ),
    );
    expect(d.smsProvider.attempts).toHaveLength(7);
    expect(results.ok).toBe(7);
    const error = await domainError(enrollSms(d, appId, "late", usNumber(500)));
    expect(error.extras).toMatchObject({ reason: "app_limit" });
    // the wait runs to the end of the UTC day (the fake clock stands at midnight)
    expect(error.extras.retryAfterSeconds).toBe(86_400);
  });

  it("applies a country's override of the hourly country limit, and no other country's", async () => {
    const { d, appId } = await app((c) => {
      c.smsProtection.perCountry.overrides = { GB: 2 };
    });
    await enrollSms(d, appId, "g1", "+447400123451");
    await enrollSms(d, appId, "g2", "+447400123452");
    const error = await domainError(enrollSms(d, appId, "g3", "+447400123453"));
    expect(error.code).toBe("sms_blocked");
    expect(error.extras).toMatchObject({ reason: "country_limit", retryAfterSeconds: 3600 });
    for (let i = 0; i < 3; i++) await enrollSms(d, appId, `us${i}`, usNumber(i));
    expect(d.smsProvider.attempts).toHaveLength(5);
  });
});

describe("blocked prefixes and modes", () => {
  it("never texts a blocked prefix: 429 sms_blocked, the provider never called", async () => {
    const { d, appId } = await app((c) => {
      c.smsProtection.blockedPrefixes = ["+4470079"];
    });
    const error = await domainError(enrollSms(d, appId, "alice", "+447007912345"));
    expect(error.code).toBe("sms_blocked");
    expect(error.extras.reason).toBe("blocked_prefix");
    expect(d.smsProvider.attempts).toHaveLength(0);
    // the refusal is audited with the masked destination, and the user's send limit is given back
    expect(d.audit.events.find((e) => e.type === "sms.blocked")).toMatchObject({
      outcome: "blocked_prefix",
      destination: "+44******2345",
    });
    expect((await d.userState(appId, "alice"))?.sends ?? 0).toBe(0);
  });

  it("monitor mode sends everything and audits what enforce would have refused as sms.flagged", async () => {
    const { d, appId } = await app((c) => {
      c.smsProtection.mode = "monitor";
      c.smsProtection.perDestination.perHour = 2;
      c.smsProtection.blockedPrefixes = ["+1415555"];
    });
    for (let i = 0; i < 4; i++) await enrollSms(d, appId, `u${i}`, NUMBER);
    expect(smsTo(d, NUMBER)).toBe(4);
    const flagged = d.audit.events.filter((e) => e.type === "sms.flagged").map((e) => e.outcome);
    expect(flagged.filter((o) => o === "blocked_prefix")).toHaveLength(4);
    expect(flagged.filter((o) => o === "destination_limit")).toHaveLength(2);
    expect(d.audit.events.some((e) => e.type === "sms.blocked")).toBe(false);
  });

  it("off counts nothing and stores nothing", async () => {
    const { d, appId } = await app((c) => {
      c.smsProtection.mode = "off";
      c.smsProtection.perDestination.perHour = 1;
    });
    for (let i = 0; i < 4; i++) await enrollSms(d, appId, `u${i}`, NUMBER);
    expect(smsTo(d, NUMBER)).toBe(4);
    expect(await d.tableText()).not.toContain("SMS#");
  });

  it("an email send touches no counter", async () => {
    const { d, appId } = await app();
    await enrollFactor(d, { appId, userId: "alice", type: "email", email: "alice@example.com" });
    expect(await d.tableText()).not.toContain("SMS#");
  });

  it("guards Sinch's verification starts the same way", async () => {
    const { d, appId } = await app((c) => {
      c.sms.provider = "sinch";
    });
    const results = await outcomes(
      Array.from({ length: 30 }, (_, i) => enrollSms(d, appId, `user-${i % 10}`, NUMBER)),
    );
    expect(results.ok).toBe(5);
    expect(d.verificationProvider.started).toHaveLength(5);
  });

  it("sends nothing when the counters cannot be written: a store fault, not an unprotected SMS", async () => {
    const { d, appId } = await app();
    const real = d.smsCounters;
    let adds = 0;
    d.smsCounters = Object.assign(Object.create(real) as typeof real, {
      add: async (...args: Parameters<typeof real.add>) => {
        if (++adds === 2) throw new StoreUnavailable("smsCounters.add");
        return real.add(...args);
      },
    });
    const error = await rejection(enrollSms(d, appId, "alice", NUMBER, "203.0.113.7"));
    expect(error).toBeInstanceOf(StoreUnavailable);
    expect(d.smsProvider.attempts).toHaveLength(0);
    // what was counted before the fault was given back
    d.smsCounters = real;
    const ctx = await loadAppContext(d, appId);
    expect((await smsProtectionStatus(d, ctx)).appSentToday).toBe(0);
    // and the user's own send limit was given back
    expect((await d.userState(appId, "alice"))?.sends ?? 0).toBe(0);
  });

  it("a counter fault still lets the code go by email when the user has it", async () => {
    const { d, appId } = await app();
    await d.enrollActive({ appId, userId: "alice", type: "email", email: "alice@example.com" });
    await d.enrollActive({ appId, userId: "alice", type: "sms", phone: NUMBER });
    const real = d.smsCounters;
    d.smsCounters = Object.assign(Object.create(real) as typeof real, {
      breakers: async () => {
        throw new StoreUnavailable("smsCounters.read");
      },
    });
    const sent = await sendChallenge(d, { appId, userId: "alice", channel: "auto", purpose: "login" });
    expect(sent).toMatchObject({ channel: "email", fallbackUsed: true });
    // monitor mode lets the SMS itself through
    d.smsCounters = real;
    await d.configure(appId, (c) => {
      c.smsProtection.mode = "monitor";
    });
    d.smsCounters = Object.assign(Object.create(real) as typeof real, {
      breakers: async () => {
        throw new StoreUnavailable("smsCounters.read");
      },
    });
    d.clock.advanceSeconds(3600);
    const monitored = await sendChallenge(d, { appId, userId: "alice", channel: "sms", purpose: "login" });
    expect(monitored.channel).toBe("sms");
  });

  it("gives the counts back when no provider took the SMS", async () => {
    const { d, appId } = await app();
    d.smsProvider.failAlways();
    for (let i = 0; i < 8; i++) {
      expect((await domainError(enrollSms(d, appId, `u${i}`, NUMBER))).code).toBe("delivery_failed");
    }
    d.smsProvider.recover();
    for (let i = 0; i < 5; i++) await enrollSms(d, appId, `v${i}`, NUMBER);
    expect((await domainError(enrollSms(d, appId, "v9", NUMBER))).extras.reason).toBe("destination_limit");
  });
});

describe("fixed windows roll over with the clock", () => {
  it("the hourly limit lifts at the next hour; the daily one at the next UTC day", async () => {
    const { d, appId } = await app();
    let user = 0;
    const send = () => enrollSms(d, appId, `u${user++}`, NUMBER);
    for (let i = 0; i < 5; i++) await send();
    d.clock.advanceSeconds(59 * 60);
    const hourly = await domainError(send());
    expect(hourly.extras).toMatchObject({ reason: "destination_limit", retryAfterSeconds: 60 });
    d.clock.advanceSeconds(60);
    for (let i = 0; i < 5; i++) await send();
    // ten today: refused until midnight UTC, whatever the hour
    d.clock.advanceSeconds(3600);
    const daily = await domainError(send());
    expect(daily.extras).toMatchObject({ reason: "destination_limit", retryAfterSeconds: 22 * 3600 });
    d.clock.advanceSeconds(22 * 3600);
    await send();
    expect(smsTo(d, NUMBER)).toBe(11);
  });
});

describe("the conversion breaker", () => {
  /** alice: active email and sms factors; then an hour passes, so a fresh conversion window starts. */
  async function breakerApp() {
    const { d, appId } = await app((c) => {
      c.smsProtection.conversion.minSends = 5;
      c.smsProtection.conversion.minRate = 0.2;
    });
    await d.enrollActive({ appId, userId: "alice", type: "email", email: "alice@example.com" });
    await d.enrollActive({ appId, userId: "alice", type: "sms", phone: NUMBER });
    d.clock.advanceSeconds(3600);
    return { d, appId };
  }

  it("opens after minSends SMS to a country whose codes died unused, falls back to email, and resume closes it", async () => {
    const { d, appId } = await breakerApp();
    for (let i = 0; i < 5; i++) await enrollSms(d, appId, `bot${i}`, usNumber(i));
    d.clock.advanceSeconds(600); // their codes are dead: the breaker counts them as unconverted
    const refused = await domainError(enrollSms(d, appId, "bot5", usNumber(5)));
    expect(refused.extras).toMatchObject({ reason: "conversion_breaker", retryAfterSeconds: 3600 });
    expect(d.audit.events.filter((e) => e.type === "sms.breaker_opened")).toEqual([
      expect.objectContaining({ target: "US", outcome: "opened" }),
    ]);

    // alice's login: sms is paused for the US, so her code goes by email
    const sent = await sendChallenge(d, { appId, userId: "alice", channel: "auto", purpose: "login" });
    expect(sent).toMatchObject({ channel: "email", fallbackUsed: true, fallbackReason: "sms_protection" });
    const ctx = await loadAppContext(d, appId);
    expect((await smsProtectionStatus(d, ctx)).countries).toEqual([
      expect.objectContaining({ country: "US", sentInWindow: 5, verifiedInWindow: 0, conversion: 0 }),
    ]);
    expect((await smsProtectionStatus(d, ctx)).countries[0]?.pausedUntil).toBe(d.clock.now() + 3600_000);

    await resumeCountry(d, ctx, "US", "admin@example.com");
    expect(d.audit.events.at(-1)).toMatchObject({
      type: "sms.breaker_closed",
      outcome: "resumed",
      target: "US",
    });
    const again = await sendChallenge(d, { appId, userId: "alice", channel: "auto", purpose: "login" });
    expect(again).toMatchObject({ channel: "sms", fallbackUsed: false });
    // the resumed country is judged afresh: one send since, not five
    expect((await smsProtectionStatus(d, ctx)).countries[0]).toMatchObject({
      sentInWindow: 1,
      pausedUntil: null,
    });
  });

  it("refuses nothing in monitor mode, even for a country paused while enforcing", async () => {
    const { d, appId } = await breakerApp();
    for (let i = 0; i < 5; i++) await enrollSms(d, appId, `bot${i}`, usNumber(i));
    d.clock.advanceSeconds(600); // their codes are dead: the breaker counts them as unconverted
    await domainError(enrollSms(d, appId, "bot5", usNumber(5)));
    await d.configure(appId, (c) => {
      c.smsProtection.mode = "monitor";
    });
    await enrollSms(d, appId, "bot6", usNumber(6));
    expect(smsTo(d, usNumber(6))).toBe(1);
    expect(d.audit.events.filter((e) => e.type === "sms.flagged").map((e) => e.outcome)).toEqual([
      "conversion_breaker",
    ]);
  });

  it("closes by itself once the pause is over, audited once", async () => {
    const { d, appId } = await breakerApp();
    for (let i = 0; i < 5; i++) await enrollSms(d, appId, `bot${i}`, usNumber(i));
    d.clock.advanceSeconds(600); // their codes are dead: the breaker counts them as unconverted
    await domainError(enrollSms(d, appId, "bot5", usNumber(5)));
    d.clock.advanceSeconds(3600);
    await enrollSms(d, appId, "later", usNumber(6));
    expect(d.audit.events.filter((e) => e.type === "sms.breaker_closed")).toEqual([
      expect.objectContaining({ outcome: "expired", target: "US" }),
    ]);
  });

  it("does not count a burst of sign-ups whose codes are still live as unconverted", async () => {
    const { d, appId } = await app(); // defaults: minSends 20, minRate 0.2
    const burst = await Promise.all(
      Array.from({ length: 40 }, (_, i) => enrollSms(d, appId, `new${i}`, usNumber(i))),
    );
    expect(burst).toHaveLength(40);
    expect(d.audit.events.some((e) => e.type === "sms.breaker_opened")).toBe(false);
  });

  it("never opens for traffic that converts", async () => {
    const { d, appId } = await breakerApp();
    for (let i = 0; i < 30; i++) {
      const enrolled = await enrollSms(d, appId, `real${i}`, usNumber(i));
      await activateFactor(d, {
        appId,
        userId: `real${i}`,
        factorId: enrolled.factor.factorId,
        code: d.latestCode(usNumber(i)),
      });
    }
    expect(d.smsProvider.attempts.filter((m) => m.at >= d.clock.now())).toHaveLength(30);
    expect(d.audit.events.some((e) => e.type === "sms.breaker_opened")).toBe(false);
    const ctx = await loadAppContext(d, appId);
    expect((await smsProtectionStatus(d, ctx)).countries[0]).toMatchObject({
      sentInWindow: 30,
      verifiedInWindow: 30,
      conversion: 1,
    });
  });
});
