import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enrollEmail, type Harness, putConfig, startHarness } from "../support/harness.ts";

/** SMS protection through the HTTP routes of the local stack, which enforces it exactly as the cloud does. */
let h: Harness;
let appId: string;

beforeAll(async () => {
  h = await startHarness();
  appId = h.stack.credentials.appId;
  // The local stack's clock is the machine's plus an offset: start at the top of an hour, so
  // the test's sends share one hourly window whatever the time.
  const now = Date.parse(String((await h.http("GET", "/dev/clock", { auth: null })).body.now));
  const toNextHour = 3_600_000 - (now % 3_600_000);
  await h.http("POST", "/dev/clock", {
    auth: null,
    body: { advanceSeconds: Math.ceil(toNextHour / 1000) + 1 },
  });
});
afterAll(async () => {
  await h?.stop();
});

const enrollSms = (userId: string, phone: string, clientIp?: string) =>
  h.call("POST", `/v1/users/${userId}/factors`, {
    body: { type: "sms", phone, ...(clientIp ? { clientIp } : {}) },
  });

describe("clientIp", () => {
  it.each(["not-an-ip", "256.1.1.1", "2001:db8::g", "203.0.113.7/24"])(
    "refuses %s with 400 invalid_request naming clientIp",
    async (clientIp) => {
      for (const reply of [
        await enrollSms("ip-user", "+14155550101", clientIp),
        await h.call("POST", "/v1/challenges", { body: { userId: "ip-user", clientIp } }),
      ]) {
        expect(reply.status).toBe(400);
        expect(reply.body).toMatchObject({ code: "invalid_request", errors: [{ path: "clientIp" }] });
      }
    },
  );

  it("is recorded in the audit event as the end user's address", async () => {
    expect((await enrollSms("ip-audited", "+14155550102", "2001:db8::7")).status).toBe(201);
    const audit = await h.call("GET", `/v1/admin/apps/${appId}/audit?userId=ip-audited`, { auth: "admin" });
    const events = audit.body.events as { type: string; ip?: string }[];
    expect(events.map((e) => e.type).sort()).toEqual(["challenge.sent", "factor.enrolled"]);
    expect(events.every((e) => e.ip === "2001:db8::7")).toBe(true);
  });
});

describe("a refused SMS", () => {
  const phone = "+14155550199";

  it("answers 429 sms_blocked with reason and Retry-After, is audited, and lifts when the window rolls over (/dev/clock)", async () => {
    for (let i = 0; i < 5; i++)
      expect((await enrollSms(`pump-${i}`, phone, "198.51.100.9")).status).toBe(201);
    const refused = await enrollSms("pump-5", phone, "198.51.100.9");
    expect(refused.status).toBe(429);
    expect(refused.headers["content-type"]).toContain("application/problem+json");
    expect(refused.body).toMatchObject({
      title: "SMS refused by SMS protection",
      code: "sms_blocked",
      reason: "destination_limit",
    });
    const wait = Number(refused.body.retryAfterSeconds);
    expect(wait).toBeGreaterThan(3000);
    expect(refused.headers["retry-after"]).toBe(String(wait));
    expect((await h.stack.outboxMessages(phone)).length).toBe(5);

    const audit = await h.call("GET", `/v1/admin/apps/${appId}/audit?userId=pump-5`, { auth: "admin" });
    expect(audit.body.events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "sms.blocked", outcome: "destination_limit", ip: "198.51.100.9" }),
      ]),
    );
    const view = await h.call("GET", `/v1/admin/apps/${appId}/sms-protection`, { auth: "admin" });
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ mode: "enforce", blockedLast24h: { destination_limit: 1 } });
    expect(view.body.countries).toEqual([expect.objectContaining({ country: "US", pausedUntil: null })]);

    await h.http("POST", "/dev/clock", { auth: null, body: { advanceSeconds: wait } });
    expect((await enrollSms("pump-6", phone, "198.51.100.9")).status).toBe(201);
  });

  it("falls back to email when the user has it, and says why", async () => {
    await enrollEmail(h, "fallback-user");
    const phone2 = "+14155550198";
    const sms = await enrollSms("fallback-user", phone2);
    const activated = await h.call("POST", `/v1/users/fallback-user/factors/${sms.body.factorId}/activate`, {
      body: { code: await h.latestCode(phone2) },
    });
    expect(activated.status).toBe(200);
    await putConfig(h, appId, (c) => {
      (c.smsProtection as { blockedPrefixes: string[] }).blockedPrefixes = ["+1415555019"];
    });
    try {
      const sent = await h.call("POST", "/v1/challenges", { body: { userId: "fallback-user" } });
      expect(sent.status).toBe(201);
      expect(sent.body).toMatchObject({
        channel: "email",
        fallbackUsed: true,
        fallbackReason: "sms_protection",
      });
      const onlySms = await h.call("POST", "/v1/challenges", {
        body: { userId: "fallback-user", channel: "sms" },
      });
      expect(onlySms.status).toBe(429);
      expect(onlySms.body).toMatchObject({ code: "sms_blocked", reason: "blocked_prefix" });
    } finally {
      await putConfig(h, appId, (c) => {
        (c.smsProtection as { blockedPrefixes: string[] }).blockedPrefixes = [];
      });
    }
  });
});

describe("admin routes", () => {
  it("resume answers 204 for a country, 400 for something else, 404 for an unknown app", async () => {
    const resume = (app: string, body: unknown) =>
      h.call("POST", `/v1/admin/apps/${app}/sms-protection/resume`, { auth: "admin", body });
    expect((await resume(appId, { country: "NG" })).status).toBe(204);
    expect((await resume(appId, { country: "XX" })).body).toMatchObject({ code: "invalid_request" });
    expect((await resume("app_nope", { country: "US" })).status).toBe(404);
    expect(
      (await h.call("POST", `/v1/admin/apps/${appId}/sms-protection/resume`, { body: { country: "US" } }))
        .status,
    ).toBe(403);
  });

  it("refuses an out-of-range smsProtection setting with invalid_config naming it", async () => {
    const current = await h.call("GET", `/v1/admin/apps/${appId}/config`, { auth: "admin" });
    const config = structuredClone(current.body) as Record<string, Record<string, unknown>>;
    config.smsProtection = {
      ...config.smsProtection,
      mode: "loud",
      appPerDay: 0,
      blockedPrefixes: ["88216"],
      perCountry: { perHour: 10, overrides: { Nigeria: 5 } },
    };
    const reply = await h.call("PUT", `/v1/admin/apps/${appId}/config`, {
      auth: "admin",
      body: config,
      headers: { "if-match": current.headers.etag ?? "" },
    });
    expect(reply.status).toBe(400);
    const paths = (reply.body.errors as { path: string }[]).map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "smsProtection.mode",
        "smsProtection.appPerDay",
        "smsProtection.blockedPrefixes.0",
        "smsProtection.perCountry.overrides.Nigeria",
      ]),
    );
  });
});
