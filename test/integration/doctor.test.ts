import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_FROM_ADDRESS, LOCAL_SMS_SENDER } from "#lib/local-stack";
import { type Harness, putConfig, type Reply, startHarness } from "../support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

type Check = { id: string; ok: boolean; blocking: boolean; detail: string; fix?: string };

const doctor = async (appId: string): Promise<{ ready: boolean; checks: Check[]; reply: Reply }> => {
  const reply = await h.http("GET", `/v1/admin/apps/${appId}/doctor`, { auth: "admin" });
  expect(reply.status).toBe(200);
  return { ready: reply.body.ready as boolean, checks: reply.body.checks as Check[], reply };
};
const failing = (checks: Check[]) => checks.filter((c) => !c.ok).map((c) => c.id);

describe("GET /v1/admin/apps/{appId}/doctor on the local stack", () => {
  it("a new app is not ready: no from-address, no sender, each with its fix; configured, it is", async () => {
    const created = await h.call("POST", "/v1/admin/apps", { auth: "admin", body: { name: "Shop" } });
    const appId = String(created.body.appId);
    const config = await h.call("GET", `/v1/admin/apps/${appId}/config`, { auth: "admin" });
    expect(config.body.email).toMatchObject({ fromAddress: null });
    expect(config.body.sms).toMatchObject({ senders: [], defaultSender: null, messagingServiceSid: null });

    const fresh = await doctor(appId);
    expect(fresh.ready).toBe(false);
    expect(failing(fresh.checks)).toEqual(["email.from_address", "email.identity", "sms.sender"]);
    expect(fresh.checks.find((c) => c.id === "email.from_address")).toMatchObject({
      blocking: true,
      detail: expect.stringContaining("email.fromAddress is not set"),
      fix: `npm run admin -- config patch ${appId} --set 'email.fromAddress=no-reply@<your verified domain>'`,
    });
    // Locally SMS go to the outbox until a Twilio secret is saved; the SES here takes any address.
    expect(fresh.checks.find((c) => c.id === "secret.twilio")).toMatchObject({ ok: true });
    expect(fresh.checks.find((c) => c.id === "email.sandbox")?.detail).toContain(
      "local stack has no sandbox",
    );

    await putConfig(h, appId, (c) => {
      (c.email as Record<string, unknown>).fromAddress = "no-reply@shop.example";
      (c.sms as Record<string, unknown>).defaultSender = "+14155550111";
    });
    const configured = await doctor(appId);
    expect(failing(configured.checks)).toEqual([]);
    expect(configured.ready).toBe(true);
    expect(configured.checks.find((c) => c.id === "email.identity")?.detail).toContain(
      "in AWS the address or its domain must be a verified SES identity",
    );
  });

  it("a referenced secret that does not fit its provider makes the app not ready, naming fields only", async () => {
    const created = await h.call("POST", "/v1/admin/apps", { auth: "admin", body: { name: "Wrong secret" } });
    const appId = String(created.body.appId);
    // A Sinch-shaped credential stored under the name this app's Twilio config refers to.
    const stored = await h.call("PUT", "/v1/admin/secrets/twilio-wrong", {
      auth: "admin",
      body: { authenticationId: "app-key-1", secret: "c2VjcmV0LXZhbHVlLTk4NzY=" },
    });
    expect(stored.status).toBe(204);
    await putConfig(h, appId, (c) => {
      (c.email as Record<string, unknown>).fromAddress = "no-reply@shop.example";
      Object.assign(c.sms as Record<string, unknown>, {
        defaultSender: "+14155550111",
        secretName: "twilio-wrong",
      });
    });
    const report = await doctor(appId);
    expect(report.ready).toBe(false);
    expect(report.checks.find((c) => c.id === "secret.twilio")).toMatchObject({
      ok: false,
      blocking: true,
      detail: expect.stringContaining(
        'the twilio secret "twilio-wrong" (sms.secretName) does not fit its schema',
      ),
      fix: "npm run admin -- secrets set twilio-wrong (or PUT /v1/admin/secrets/twilio-wrong)",
    });
    expect(report.reply.text).not.toContain("c2VjcmV0");
  });

  it("the default app of npm start is ready out of the box", async () => {
    const config = await h.call("GET", "/v1/admin/apps/default/config", { auth: "admin" });
    expect(config.body.email).toMatchObject({ fromAddress: LOCAL_FROM_ADDRESS });
    expect(config.body.sms).toMatchObject({ defaultSender: LOCAL_SMS_SENDER });
    const report = await doctor("default");
    expect(failing(report.checks)).toEqual([]);
    expect(report.ready).toBe(true);
  });

  it("is for admins only, and 404 for an unknown app", async () => {
    expect((await h.call("GET", "/v1/admin/apps/default/doctor", { auth: "client" })).body.code).toBe(
      "forbidden",
    );
    expect((await h.call("GET", "/v1/admin/apps/default/doctor", { auth: null })).status).toBe(401);
    const unknown = await h.call("GET", "/v1/admin/apps/app_nope/doctor", { auth: "admin" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("app_not_found");
  });
});

describe("sending while a channel is not configured (the real handlers)", () => {
  it("502 delivery_failed says what is missing, nothing reaches the outbox, the send limit is untouched, and fallback works", async () => {
    const created = await h.call("POST", "/v1/admin/apps", { auth: "admin", body: { name: "Half set up" } });
    const appId = String(created.body.appId);
    const apiKey = String(created.body.apiKey);
    await putConfig(h, appId, (c) => {
      (c.email as Record<string, unknown>).fromAddress = "no-reply@shop.example";
      (c.sms as Record<string, unknown>).defaultSender = "+14155550111";
    });
    const email = "carol@example.com";
    const phone = "+14155550199";
    // The first activation turns MFA on and counts as the step-up the second enrollment needs.
    for (const body of [
      { type: "email", email },
      { type: "sms", phone },
    ]) {
      const enrolled = await h.call("POST", "/v1/users/carol/factors", { auth: apiKey, body });
      expect(enrolled.status).toBe(201);
      const code = await h.latestCode(body.type === "email" ? email : phone);
      const activated = await h.call("POST", `/v1/users/carol/factors/${enrolled.body.factorId}/activate`, {
        auth: apiKey,
        body: { code },
      });
      expect(activated.status).toBe(200);
    }
    h.stack.clock.advance(3600);
    await putConfig(h, appId, (c) => {
      (c.email as Record<string, unknown>).fromAddress = null;
    });
    const mailsBefore = (await h.stack.outboxMessages(email)).length;

    // More sends than maxCodeRequests (5): each is a 502, none is counted against carol.
    for (let i = 0; i < 6; i++) {
      const failed = await h.http("POST", "/v1/challenges", {
        auth: apiKey,
        body: { userId: "carol", channel: "email" },
      });
      expect(failed.status).toBe(502);
      expect(failed.headers["content-type"]).toBe("application/problem+json");
      expect(failed.body).toMatchObject({
        code: "delivery_failed",
        detail: `No channel accepted the message: email: email.fromAddress is not set. GET /v1/admin/apps/${appId}/doctor lists what to fix.`,
        providerCode: "not_configured",
      });
    }
    expect(await h.stack.outboxMessages(email)).toHaveLength(mailsBefore);

    // Email first, SMS as fallback: the code goes by SMS, as for any failed delivery.
    await putConfig(h, appId, (c) => {
      Object.assign(c.mfa as Record<string, unknown>, { primaryMethod: "email", fallbackMethod: "sms" });
    });
    const fellBack = await h.http("POST", "/v1/challenges", { auth: apiKey, body: { userId: "carol" } });
    expect(fellBack.status).toBe(201);
    expect(fellBack.body).toMatchObject({
      channel: "sms",
      fallbackUsed: true,
      fallbackReason: "delivery_failed",
    });
    const verified = await h.http("POST", "/v1/verifications", {
      auth: apiKey,
      body: { userId: "carol", challengeId: fellBack.body.challengeId, code: await h.latestCode(phone) },
    });
    expect(verified.body.status).toBe("approved");
  });
});
