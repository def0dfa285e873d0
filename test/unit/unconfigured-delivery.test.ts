import { describe, expect, it } from "vitest";
import { sendChallenge } from "#core/use-cases/send-challenge";
import { sendTestMessage } from "#core/use-cases/test-message";
import { verifyCode } from "#core/use-cases/verify-code";
import { domainError, type TestDeps, testDeps } from "../support/deps.ts";

const EMAIL = "alice@example.com";
const PHONE = "+14155550123";

/** alice with active sms and email factors on a deliverable app (primary sms, fallback email); then `unset` is cleared. */
async function alice(unset: { fromAddress?: boolean; sender?: boolean }) {
  const d = await testDeps();
  const { appId } = await d.createApp("Acme");
  await d.enrollActive({ appId, userId: "alice", type: "email", email: EMAIL });
  await d.enrollActive({ appId, userId: "alice", type: "sms", phone: PHONE });
  d.clock.advanceSeconds(3600);
  await d.configure(appId, (c) => {
    if (unset.fromAddress) c.email.fromAddress = null;
    if (unset.sender) c.sms.defaultSender = null;
  });
  return { d, appId, sent: d.outbox.length, counters: await smsCounters(d) };
}

/** SMS protection's counter items (pk `SMS#...`), as stored. */
async function smsCounters(d: TestDeps): Promise<unknown[]> {
  const items = JSON.parse(await d.tableText()) as Array<{ pk: string }>;
  return items.filter((item) => item.pk.startsWith("SMS#"));
}

const send = (d: TestDeps, appId: string, channel: "auto" | "sms" | "email" = "auto") =>
  sendChallenge(d, { appId, userId: "alice", channel, purpose: "login" });

describe("a code for a channel the config cannot deliver on", () => {
  it("never reaches the provider: 502 delivery_failed names what is missing and the doctor route", async () => {
    const { d, appId, sent } = await alice({ fromAddress: true });
    const attempts = d.emailProvider.attempts.length;
    const error = await domainError(send(d, appId, "email"));
    expect(error.code).toBe("delivery_failed");
    expect(error.message).toBe(
      `No channel accepted the message: email: email.fromAddress is not set. GET /v1/admin/apps/${appId}/doctor lists what to fix.`,
    );
    expect(error.extras).toEqual({ provider: "ses", providerCode: "not_configured" });
    expect(d.emailProvider.attempts).toHaveLength(attempts);
    expect(d.outbox).toHaveLength(sent);
    expect(d.audit.events.at(-1)).toMatchObject({ type: "challenge.sent", outcome: "delivery_failed" });
  });

  it("gives the user's send back: five refused sends, then the sixth goes out once configured", async () => {
    const { d, appId } = await alice({ fromAddress: true });
    for (let i = 0; i < 6; i++)
      expect((await domainError(send(d, appId, "email"))).code).toBe("delivery_failed");
    expect((await d.userState(appId, "alice"))?.sends ?? 0).toBe(0);
    await d.configure(appId, (c) => {
      c.email.fromAddress = "no-reply@acme.test";
    });
    const sent = await send(d, appId, "email");
    const approval = await verifyCode(d, {
      appId,
      userId: "alice",
      challengeId: sent.challengeId,
      code: d.latestCode(EMAIL),
    });
    expect(approval.status).toBe("approved");
  });

  it("counts as the channel's failure: auto falls back to email, and SMS protection counts nothing", async () => {
    const { d, appId, counters } = await alice({ sender: true });
    const smsAttempts = d.smsProvider.attempts.length;
    const sent = await send(d, appId);
    expect(sent).toMatchObject({ channel: "email", fallbackUsed: true, fallbackReason: "delivery_failed" });
    expect(d.smsProvider.attempts).toHaveLength(smsAttempts);
    expect(d.outbox.at(-1)).toMatchObject({ channel: "email", to: EMAIL });
    expect(await smsCounters(d)).toEqual(counters);
  });

  it("with neither channel configured, the 502 names both", async () => {
    const { d, appId, sent } = await alice({ fromAddress: true, sender: true });
    const error = await domainError(send(d, appId));
    expect(error.message).toContain(
      "sms: no SMS sender is set (sms.defaultSender, sms.senders and sms.messagingServiceSid are all empty); email: email.fromAddress is not set",
    );
    expect(d.outbox).toHaveLength(sent);
  });

  it("a new app enrolls no email or sms factor until configured: nothing is sent or stored", async () => {
    const d = await testDeps();
    const { appId } = await d.createApp("Fresh", { unconfigured: true });
    const email = await domainError(
      d.enrollActive({ appId, userId: "bob", type: "email", email: "bob@example.com" }),
    );
    expect(email.code).toBe("delivery_failed");
    expect(email.message).toContain("email.fromAddress is not set");
    const sms = await domainError(d.enrollActive({ appId, userId: "bob", type: "sms", phone: PHONE }));
    expect(sms.message).toContain("no SMS sender is set");
    expect(d.outbox).toHaveLength(0);
    expect(await d.tableText()).not.toContain("FACTOR#");
  });

  it("a test message says the same, and reaches no provider", async () => {
    const d = await testDeps();
    const { appId } = await d.createApp("Fresh", { unconfigured: true });
    const email = await domainError(sendTestMessage(d, { appId, channel: "email", to: EMAIL }));
    expect(email.code).toBe("delivery_failed");
    expect(email.extras).toMatchObject({
      providerCode: "not_configured",
      providerMessage: "email.fromAddress is not set",
    });
    const sms = await domainError(sendTestMessage(d, { appId, channel: "sms", to: PHONE }));
    expect(sms.extras.providerMessage).toContain("no SMS sender is set");
    expect(d.outbox).toHaveLength(0);
  });
});
