import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_TIMEOUT_MS as TWILIO_TIMEOUT_MS } from "#adapters/providers/twilio/twilio-sms";
import { LOCAL_SMS_SENDER } from "#lib/local-stack";
import { type FakeSinch, startFakeSinch } from "../support/fake-sinch.ts";
import { type FakeTwilio, startFakeTwilio, twilioSid } from "../support/fake-twilio.ts";
import { enrollEmail, type Harness, putConfig, startHarness } from "../support/harness.ts";

const ACCOUNT = { sid: twilioSid("AC"), token: "a".repeat(32) };
const INDIA = { sid: twilioSid("AC"), token: "b".repeat(32) };
const SINCH = { key: "app-key-1", secret: Buffer.from("sinch-application-secret").toString("base64") };

let h: Harness;
let twilio: FakeTwilio;
let sinch: FakeSinch;

beforeAll(async () => {
  twilio = await startFakeTwilio([ACCOUNT, { ...INDIA, parentSid: ACCOUNT.sid }]);
  sinch = await startFakeSinch([SINCH]);
  h = await startHarness({ twilioApiUrl: twilio.url });
  const put = await h.call("PUT", "/v1/admin/secrets/twilio", {
    auth: "admin",
    body: {
      accountSid: ACCOUNT.sid,
      authToken: ACCOUNT.token,
      subaccounts: [
        { dialingCode: "+91", accountSid: INDIA.sid, authToken: INDIA.token, senderPhone: "+919000000001" },
      ],
    },
  });
  expect(put.status).toBe(204);
});
afterAll(async () => {
  await h?.stop();
  await twilio?.stop();
  await sinch?.stop();
});
beforeEach(() => {
  twilio.clearFaults();
});

const smsCode = (to: string) => {
  const body = twilio.messages.findLast((m) => m.to === to)?.body ?? "";
  const code = /\b(\d{6,10})\b/.exec(body)?.[1];
  if (!code) throw new Error(`no sms to ${to}`);
  return code;
};

async function enrollSms(userId: string, phone: string) {
  const enrolled = await h.call("POST", `/v1/users/${userId}/factors`, { body: { type: "sms", phone } });
  expect(enrolled.status).toBe(201);
  const activated = await h.call("POST", `/v1/users/${userId}/factors/${enrolled.body.factorId}/activate`, {
    body: { code: smsCode(phone) },
  });
  expect(activated.status).toBe(200);
}

describe("admin secrets", () => {
  it("lists which secrets are set, never their values, and refuses malformed ones", async () => {
    const listed = await h.call("GET", "/v1/admin/secrets", { auth: "admin" });
    expect(listed.status).toBe(200);
    expect(listed.body.secrets).toEqual([
      { name: "sinch-verification-api", set: false, updatedAt: null },
      { name: "twilio", set: true, updatedAt: expect.any(String) },
    ]);
    expect(listed.text).not.toContain(ACCOUNT.token);
    const bad = await h.call("PUT", "/v1/admin/secrets/twilio", {
      auth: "admin",
      body: { accountSid: "nope" },
    });
    expect(bad.status).toBe(400);
    expect((bad.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      "accountSid",
      "authToken",
    ]);
    expect((await h.call("PUT", "/v1/admin/secrets/twilio", { auth: "client", body: {} })).status).toBe(403);
  });

  it("checks each secret with its provider's schema: by its usual name, else by its fields", async () => {
    const put = (name: string, body: unknown) =>
      h.call("PUT", `/v1/admin/secrets/${name}`, { auth: "admin", body });
    const paths = (reply: { body: Record<string, unknown> }) =>
      (reply.body.errors as { path: string }[]).map((e) => e.path);
    const sinchBody = { authenticationId: SINCH.key, secret: SINCH.secret };
    expect((await put("sinch-eu", sinchBody)).status).toBe(204);
    const wrongShape = await put("sinch-verification-api", {
      accountSid: ACCOUNT.sid,
      authToken: ACCOUNT.token,
    });
    expect(wrongShape.status).toBe(400);
    expect(paths(wrongShape)).toEqual(expect.arrayContaining(["authenticationId", "secret", "accountSid"]));
    const shortToken = await put("twilio-eu", { accountSid: ACCOUNT.sid, authToken: "too-short" });
    expect(shortToken.status).toBe(400);
    expect(paths(shortToken)).toEqual(["authToken"]);
    const noShape = await put("other", { apiKey: "x" });
    expect(noShape.status).toBe(400);
    expect(noShape.body.errors).toEqual([
      {
        path: "(body)",
        message:
          "a Twilio secret { accountSid, authToken, subaccounts? } or a Sinch secret { authenticationId, secret }",
      },
    ]);
    expect(noShape.text).not.toContain(SINCH.secret);
  });
});

describe("SMS through Twilio", () => {
  it("sends codes from the default sender, and a login code by sms first", async () => {
    await enrollSms("ana", "+14155550101");
    const first = twilio.messages.findLast((m) => m.to === "+14155550101");
    expect(first).toMatchObject({ accountSid: ACCOUNT.sid, authUser: ACCOUNT.sid, from: LOCAL_SMS_SENDER });
    expect(first?.body).toMatch(/^Your Default app code is \d{6}\. It expires in 5 min\.$/);
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "ana" } });
    expect(sent.body).toMatchObject({ channel: "sms", destination: "+1******0101", fallbackUsed: false });
    const ok = await h.call("POST", "/v1/verifications", {
      body: { userId: "ana", challengeId: sent.body.challengeId, code: smsCode("+14155550101") },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.method).toBe("sms");
  });

  it("uses the subaccount whose dialing code prefixes the number", async () => {
    await enrollSms("ravi", "+919812345678");
    const message = twilio.messages.findLast((m) => m.to === "+919812345678");
    expect(message).toMatchObject({ accountSid: INDIA.sid, authUser: INDIA.sid, from: "+919000000001" });
  });

  it("uses the per-country sender, then the messaging service when one is set", async () => {
    await putConfig(h, "default", (c) => {
      (c.sms as Record<string, unknown>).senders = [{ number: "+447400000001", countries: ["GB"] }];
    });
    await h.call("POST", "/v1/users/gb/factors", { body: { type: "sms", phone: "+447400123456" } });
    expect(twilio.messages.findLast((m) => m.to === "+447400123456")?.from).toBe("+447400000001");
    const service = twilioSid("MG");
    await putConfig(h, "default", (c) => {
      (c.sms as Record<string, unknown>).messagingServiceSid = service;
    });
    await h.call("POST", "/v1/users/gb2/factors", { body: { type: "sms", phone: "+447400123457" } });
    expect(twilio.messages.findLast((m) => m.to === "+447400123457")).toMatchObject({
      messagingServiceSid: service,
      from: null,
    });
    await putConfig(h, "default", (c) => {
      (c.sms as Record<string, unknown>).messagingServiceSid = null;
    });
  });

  it("sends in the user's locale, falling back to en", async () => {
    await putConfig(h, "default", (c) => {
      c.templates = { ...(c.templates as object), fr: { sms: "Votre code {app} est {code}." } };
    });
    await enrollSms("fr", "+14155550102");
    await h.call("POST", "/v1/challenges", { body: { userId: "fr", locale: "fr-CA" } });
    expect(twilio.messages.findLast((m) => m.to === "+14155550102")?.body).toMatch(
      /^Votre code Default app est \d{6}\.$/,
    );
    await h.call("POST", "/v1/challenges", { body: { userId: "fr", locale: "de" } });
    expect(twilio.messages.findLast((m) => m.to === "+14155550102")?.body).toMatch(
      /^Your Default app code is/,
    );
    await putConfig(h, "default", (c) => {
      c.templates = { en: (c.templates as Record<string, unknown>).en };
    });
  });

  it("falls back to email when Twilio errors, and says so", async () => {
    await enrollSms("fb", "+14155550103");
    await enrollEmail(h, "fb");
    for (const fault of [500, 20429, 21408] as const) {
      twilio.failFor("+14155550103", fault);
      const sent = await h.call("POST", "/v1/challenges", { body: { userId: "fb" } });
      expect(sent.status, `fault ${fault}`).toBe(201);
      expect(sent.body).toMatchObject({
        channel: "email",
        destination: "f***@example.com",
        fallbackUsed: true,
      });
      const ok = await h.call("POST", "/v1/verifications", {
        body: {
          userId: "fb",
          challengeId: sent.body.challengeId,
          code: await h.latestCode("fb@example.com"),
        },
      });
      expect(ok.status).toBe(200);
      expect(ok.body.method).toBe("email");
    }
  });

  it("falls back when Twilio hangs past its request deadline (4 s, inside the 5 s step)", async () => {
    h.stack.clock.advance(901); // a fresh send window
    twilio.failFor("+14155550103", "hang");
    const started = Date.now();
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "fb" } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(TWILIO_TIMEOUT_MS - 100);
    expect(sent.body).toMatchObject({ channel: "email", fallbackUsed: true });
  }, 15_000);

  it("answers 502 when no channel accepts, without counting the send", async () => {
    await putConfig(h, "default", (c) => {
      (c.mfa as Record<string, unknown>).fallbackMethod = "none";
      (c.limits as Record<string, unknown>).maxCodeRequests = 2;
    });
    await enrollSms("nochan", "+14155550104");
    twilio.failFor("+14155550104", 21211);
    for (let i = 0; i < 3; i++) {
      const failed = await h.call("POST", "/v1/challenges", { body: { userId: "nochan" } });
      expect(failed.status).toBe(502);
      expect(failed.body).toMatchObject({
        code: "delivery_failed",
        provider: "twilio",
        providerCode: "21211",
      });
      expect(failed.text).not.toContain("4155550104");
    }
    twilio.clearFaults();
    // the enrollment used 1 of 2; the 3 failures used none
    expect((await h.call("POST", "/v1/challenges", { body: { userId: "nochan" } })).status).toBe(201);
    expect((await h.call("POST", "/v1/challenges", { body: { userId: "nochan" } })).status).toBe(429);
    await putConfig(h, "default", (c) => {
      (c.mfa as Record<string, unknown>).fallbackMethod = "email";
      (c.limits as Record<string, unknown>).maxCodeRequests = 5;
    });
  });

  it("picks up a rotated auth token without a restart (20003 to the old token, one re-read)", async () => {
    await enrollSms("rot", "+14155550105");
    const newToken = "c".repeat(32);
    twilio.setToken(ACCOUNT.sid, newToken);
    // rotated out of band, as in Secrets Manager: the service still caches the old value
    const path = join(h.dir, "secrets.json");
    const file = JSON.parse(await readFile(path, "utf8"));
    file.providers.twilio.value.authToken = newToken;
    await writeFile(path, JSON.stringify(file));
    const before = twilio.requests.length;
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "rot", channel: "sms" } });
    expect(sent.status).toBe(201);
    const attempts = twilio.requests.slice(before);
    expect(attempts.map((r) => r.status)).toEqual([401, 201]);
    expect(attempts[0]?.code).toBe(20003);
  });

  it("sends a test message with the saved config, or reports the provider's error", async () => {
    const ok = await h.call("POST", "/v1/admin/apps/default/test-message", {
      auth: "admin",
      body: { channel: "sms", to: "+14155550106" },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      delivered: true,
      provider: "twilio",
      providerMessageId: expect.stringMatching(/^SM/),
    });
    twilio.failFor("+14155550107", 21408);
    const refused = await h.call("POST", "/v1/admin/apps/default/test-message", {
      auth: "admin",
      body: { channel: "sms", to: "+14155550107" },
    });
    expect(refused.status).toBe(502);
    expect(refused.body).toMatchObject({
      code: "delivery_failed",
      provider: "twilio",
      providerCode: "21408",
    });
    expect(String(refused.body.providerMessage)).toContain("Permission to send an SMS");
    const email = await h.call("POST", "/v1/admin/apps/default/test-message", {
      auth: "admin",
      body: { channel: "email", to: "ops@example.com" },
    });
    expect(email.body).toMatchObject({ delivered: true, provider: "ses" });
    expect((await h.stack.outboxMessages("ops@example.com"))[0]?.subject).toBe(
      "Test message from Default app",
    );
  });
});

describe("SMS through the Sinch Verification API (Sinch makes and checks the code)", () => {
  beforeAll(async () => {
    expect(
      (
        await h.call("PUT", "/v1/admin/secrets/sinch-verification-api", {
          auth: "admin",
          body: { authenticationId: SINCH.key, secret: SINCH.secret },
        })
      ).status,
    ).toBe(204);
    await putConfig(h, "default", (c) => {
      (c.sms as Record<string, unknown>).provider = "sinch";
      const sms = c.sms as Record<string, Record<string, unknown>>;
      sms.sinch = {
        ...sms.sinch,
        endpointUrl: sinch.url,
        authMethod: "signed",
      };
    });
  });

  it("enrolls, activates and verifies with Sinch's own codes, signed requests", async () => {
    const phone = "+14155550120";
    const enrolled = await h.call("POST", "/v1/users/sinchy/factors", { body: { type: "sms", phone } });
    expect(enrolled.status).toBe(201);
    expect(sinch.requests.at(-1)?.auth).toBe("signed");
    const activated = await h.call("POST", `/v1/users/sinchy/factors/${enrolled.body.factorId}/activate`, {
      body: { code: sinch.codeFor(phone) },
    });
    expect(activated.status).toBe(200);
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "sinchy" } });
    expect(sent.body).toMatchObject({ channel: "sms", fallbackUsed: false });
    expect(sinch.verifications.at(-1)?.reference).toBe(sent.body.challengeId);
    const wrong = await h.call("POST", "/v1/verifications", {
      body: { userId: "sinchy", challengeId: sent.body.challengeId, code: "0000000" },
    });
    expect([410, 422]).toContain(wrong.status);
    const again = await h.call("POST", "/v1/challenges", { body: { userId: "sinchy" } });
    const ok = await h.call("POST", "/v1/verifications", {
      body: { userId: "sinchy", challengeId: again.body.challengeId, code: sinch.codeFor(phone) },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.method).toBe("sms");
  });

  it("200 parallel verifications of one right Sinch code give one approval", async () => {
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "sinchy" } });
    const code = sinch.codeFor("+14155550120");
    const replies = await Promise.all(
      Array.from({ length: 200 }, () =>
        h.call("POST", "/v1/verifications", {
          body: { userId: "sinchy", challengeId: sent.body.challengeId, code },
        }),
      ),
    );
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    expect(replies.every((r) => [200, 410, 429].includes(r.status))).toBe(true);
  });

  it("a provider error between wrong codes gives the attempt back once: the user still locks after maxVerifyAttempts wrong codes (rule 35)", async () => {
    const phone = "+14155550177";
    const enrolled = await h.call("POST", "/v1/users/pumped/factors", { body: { type: "sms", phone } });
    const activated = await h.call("POST", `/v1/users/pumped/factors/${enrolled.body.factorId}/activate`, {
      body: { code: sinch.codeFor(phone) },
    });
    expect(activated.status).toBe(200);
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "pumped" } });
    const right = sinch.codeFor(phone) ?? "";
    const wrong = right.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
    const body = (code: string) => ({ body: { userId: "pumped", challengeId: sent.body.challengeId, code } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      sinch.failNext(1, 503);
      statuses.push((await h.call("POST", "/v1/verifications", body(wrong))).status);
      statuses.push((await h.call("POST", "/v1/verifications", body(wrong))).status);
    }
    expect(statuses).toEqual([502, 422, 502, 422, 502, 423]);
    const late = await h.call("POST", "/v1/verifications", body(right));
    expect(late.status).toBe(423);
  });

  it("falls back to email when Sinch fails, and answers 502 on a verification fault", async () => {
    await enrollEmail(h, "sinchy");
    h.stack.clock.advance(901); // a fresh send window
    sinch.failNext(1, 50000);
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "sinchy" } });
    expect(sent.body).toMatchObject({ channel: "email", fallbackUsed: true });
    const viaSinch = await h.call("POST", "/v1/challenges", { body: { userId: "sinchy", channel: "sms" } });
    sinch.failNext(1, 503);
    const fault = await h.call("POST", "/v1/verifications", {
      body: { userId: "sinchy", challengeId: viaSinch.body.challengeId, code: "123456" },
    });
    expect(fault.status).toBe(502);
    expect(fault.body.code).toBe("delivery_failed");
  });
});
