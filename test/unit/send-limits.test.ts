import { afterEach, describe, expect, it, vi } from "vitest";
import { ProviderError } from "#core/errors";
import { PROVIDER_TIMEOUT_MS } from "#core/policy";
import { sendChallenge } from "#core/use-cases/send-challenge";
import { verifyCode } from "#core/use-cases/verify-code";
import { codeIn, domainError, enrollWithCode, type TestDeps, testDeps } from "../support/deps.ts";

const EMAIL = "alice@example.com";
const PHONE = "+14155550123";

/** An app (primary sms, fallback email) and alice with an active email factor; the enrollment's send window is over. */
async function aliceWithEmail(given?: TestDeps) {
  const d = given ?? (await testDeps());
  const { appId } = await d.createApp("Acme");
  await d.enrollActive({ appId, userId: "alice", type: "email", email: EMAIL });
  d.clock.advanceSeconds(3600);
  return { d, appId };
}

async function aliceWithSmsAndEmail() {
  const { d, appId } = await aliceWithEmail();
  await d.enrollActive({ appId, userId: "alice", type: "sms", phone: PHONE });
  d.clock.advanceSeconds(3600);
  return { d, appId };
}

const send = (d: TestDeps, appId: string, channel: "auto" | "sms" | "email" = "email") =>
  sendChallenge(d, { appId, userId: "alice", channel, purpose: "login" });

describe("the send limit", () => {
  it("answers rate_limited for the (max+1)th send, with retryAfterSeconds, without calling the provider", async () => {
    const { d, appId } = await aliceWithEmail();
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      sent.push((await send(d, appId)).challengeId);
      d.clock.advanceSeconds(10);
    }
    const attempts = d.emailProvider.attempts.length;
    const error = await domainError(send(d, appId));
    expect(error.code).toBe("rate_limited");
    // The wait starts again from the send that reached the maximum (10 s ago).
    expect(error.extras).toEqual({ retryAfterSeconds: 900 - 10 });
    expect(d.emailProvider.attempts).toHaveLength(attempts);
    // five sends counted; the refused one neither counted nor replaced the newest code
    const state = await d.userState(appId, "alice");
    expect(state?.sends).toBe(5);
    expect(state?.challenges?.login?.id).toBe(sent.at(-1));
  });

  it("follows the app's maxCodeRequests and requestTimeoutSeconds, and lets sends through after the wait", async () => {
    const { d, appId } = await aliceWithEmail();
    await d.configure(appId, (c) => {
      c.limits.maxCodeRequests = 2;
      c.limits.requestTimeoutSeconds = 60;
    });
    await send(d, appId);
    await send(d, appId);
    const limited = await domainError(send(d, appId));
    expect(limited.extras.retryAfterSeconds).toBe(60);

    d.clock.advanceSeconds(59);
    expect((await domainError(send(d, appId))).extras.retryAfterSeconds).toBe(1);
    d.clock.advanceSeconds(1);
    const sent = await send(d, appId);
    const approval = await verifyCode(d, {
      appId,
      userId: "alice",
      challengeId: sent.challengeId,
      code: d.latestCode(EMAIL),
    });
    expect(approval.status).toBe("approved");
  });

  it("counts per user: another user can still send", async () => {
    const { d, appId } = await aliceWithEmail();
    await d.enrollActive({ appId, userId: "bob", type: "email", email: "bob@example.com" });
    for (let i = 0; i < 5; i++) await send(d, appId);
    expect((await domainError(send(d, appId))).code).toBe("rate_limited");
    const bob = await sendChallenge(d, { appId, userId: "bob", channel: "email", purpose: "login" });
    expect(bob.channel).toBe("email");
  });

  it("counts enrollment codes too", async () => {
    const d = await testDeps();
    const { appId } = await d.createApp("Acme");
    await d.configure(appId, (c) => {
      c.limits.maxCodeRequests = 3;
    });
    for (let i = 0; i < 3; i++)
      await enrollWithCode(d, { appId, userId: "carol", type: "email", email: "c@example.com" });
    const error = await domainError(
      enrollWithCode(d, { appId, userId: "carol", type: "email", email: "c@example.com" }),
    );
    expect(error.code).toBe("rate_limited");
    expect(d.emailProvider.attempts).toHaveLength(3);
  });
});

describe("delivery failures", () => {
  it("answers delivery_failed when every provider refused, and does not count the send", async () => {
    const { d, appId } = await aliceWithEmail();
    await d.configure(appId, (c) => {
      c.limits.maxCodeRequests = 2;
    });
    d.emailProvider.failAlways(new ProviderError("ses", "Throttling", "rate exceeded", "unavailable"));
    for (let i = 0; i < 4; i++) {
      const error = await domainError(send(d, appId));
      expect(error.code).toBe("delivery_failed");
      expect(error.extras).toMatchObject({ provider: "ses", providerCode: "Throttling" });
    }
    expect((await d.userState(appId, "alice"))?.sends ?? 0).toBe(0);

    d.emailProvider.recover();
    await send(d, appId);
    await send(d, appId);
    expect((await domainError(send(d, appId))).code).toBe("rate_limited");
  });

  it("a code that no provider accepted is never stored, so it can never be redeemed", async () => {
    const { d, appId } = await aliceWithEmail();
    d.emailProvider.failNext();
    const error = await domainError(send(d, appId));
    expect(error.code).toBe("delivery_failed");
    expect(JSON.stringify(error.extras)).not.toContain("ch_");
    const refused = d.emailProvider.attempts.at(-1);
    expect(refused && codeIn(refused)).toMatch(/^\d{6}$/);
    const state = await d.userState(appId, "alice");
    expect(state?.challenges?.login).toBeUndefined();
    expect(Object.values(state?.challenges ?? {})).toEqual([]);
  });

  it("a failed send does not supersede the code sent before it", async () => {
    const { d, appId } = await aliceWithEmail();
    const first = await send(d, appId);
    const code = d.latestCode(EMAIL);
    d.emailProvider.failNext();
    expect((await domainError(send(d, appId))).code).toBe("delivery_failed");
    const approval = await verifyCode(d, { appId, userId: "alice", challengeId: first.challengeId, code });
    expect(approval.status).toBe("approved");
  });

  it("an explicit channel is tried alone: its failure is delivery_failed even with another factor", async () => {
    const { d, appId } = await aliceWithSmsAndEmail();
    const emailsBefore = d.emailProvider.attempts.length;
    d.smsProvider.failNext(new ProviderError("twilio", "21211", "invalid To number"));
    const error = await domainError(send(d, appId, "sms"));
    expect(error).toMatchObject({
      code: "delivery_failed",
      extras: { provider: "twilio", providerCode: "21211" },
    });
    expect(d.emailProvider.attempts).toHaveLength(emailsBefore);
  });

  it("does not fall back when the app's fallbackMethod is none", async () => {
    const { d, appId } = await aliceWithSmsAndEmail();
    await d.configure(appId, (c) => {
      c.mfa.fallbackMethod = "none";
    });
    const emailsBefore = d.emailProvider.attempts.length;
    d.smsProvider.failNext();
    expect((await domainError(send(d, appId, "auto"))).code).toBe("delivery_failed");
    expect(d.emailProvider.attempts).toHaveLength(emailsBefore);
  });
});

describe("fallback", () => {
  it("uses email with fallbackUsed: true when the user has no active sms factor", async () => {
    const { d, appId } = await aliceWithEmail();
    const sent = await send(d, appId, "auto");
    expect(sent).toMatchObject({ channel: "email", destination: "a***@example.com", fallbackUsed: true });
    expect(d.smsProvider.attempts).toHaveLength(0);
  });

  it("uses the primary method when the user has it, with fallbackUsed: false", async () => {
    const { d, appId } = await aliceWithSmsAndEmail();
    const sent = await send(d, appId, "auto");
    expect(sent).toMatchObject({ channel: "sms", destination: "+1******0123", fallbackUsed: false });
  });

  it("falls back to email when the sms provider refuses; one challenge, counted once, that verifies", async () => {
    const { d, appId } = await aliceWithSmsAndEmail();
    const emailsBefore = d.emailProvider.sent.length;
    d.smsProvider.failNext(new ProviderError("twilio", "30003", "unreachable", "rejected"));
    const sent = await send(d, appId, "auto");
    expect(sent).toMatchObject({ channel: "email", destination: "a***@example.com", fallbackUsed: true });
    expect(d.emailProvider.sent).toHaveLength(emailsBefore + 1);
    const state = await d.userState(appId, "alice");
    expect(state?.challenges?.login).toMatchObject({ id: sent.challengeId, channel: "email" });
    expect(state?.sends).toBe(1);

    // The sms and the email carried the same code; the challenge now says email.
    const smsCode = d.smsProvider.attempts.at(-1);
    expect(smsCode && codeIn(smsCode)).toBe(d.latestCode(EMAIL));
    const approval = await verifyCode(d, {
      appId,
      userId: "alice",
      challengeId: sent.challengeId,
      code: d.latestCode(EMAIL),
    });
    expect(approval.method).toBe("email");
  });
});

describe("a provider that does not answer", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Lets the use case (and its store round trips) run until the provider was handed the message. */
  async function untilAttempted(provider: { attempts: unknown[] }, count: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (provider.attempts.length < count && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(provider.attempts).toHaveLength(count);
  }

  /** A few turns of the event loop: enough for anything that is not waiting on a timer. */
  const turns = async (count = 20) => {
    for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it(`is abandoned after ${PROVIDER_TIMEOUT_MS} ms for the fallback`, async () => {
    const { d, appId } = await aliceWithSmsAndEmail();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    d.smsProvider.hangNext();
    let settled = false;
    const pending = send(d, appId, "auto");
    pending.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    const emailsBefore = d.emailProvider.attempts.length;
    await untilAttempted(d.smsProvider, 2);
    await vi.advanceTimersByTimeAsync(PROVIDER_TIMEOUT_MS - 1);
    await turns();
    expect(settled).toBe(false);
    expect(d.emailProvider.attempts).toHaveLength(emailsBefore);
    await vi.advanceTimersByTimeAsync(1);
    await untilAttempted(d.emailProvider, emailsBefore + 1);
    const sent = await pending;
    expect(settled).toBe(true);
    expect(sent).toMatchObject({ channel: "email", fallbackUsed: true });
    expect(PROVIDER_TIMEOUT_MS).toBe(5_000);
  });

  it("with no fallback answers delivery_failed (timeout) and does not count the send", async () => {
    const { d, appId } = await aliceWithEmail();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    d.emailProvider.hangNext();
    const pending = domainError(send(d, appId));
    await untilAttempted(d.emailProvider, 2);
    await vi.advanceTimersByTimeAsync(PROVIDER_TIMEOUT_MS);
    const error = await pending;
    expect(error).toMatchObject({ code: "delivery_failed", extras: { providerCode: "timeout" } });
    expect((await d.userState(appId, "alice"))?.sends ?? 0).toBe(0);
  });
});
