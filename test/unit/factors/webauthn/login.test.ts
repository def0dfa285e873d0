import { describe, expect, it } from "vitest";
import { activateFactor } from "#core/use-cases/activate-factor";
import { listFactors } from "#core/use-cases/list-factors";
import { sendChallenge } from "#core/use-cases/send-challenge";
import { validateSession } from "#core/use-cases/validate-session";
import { verifyCode } from "#core/use-cases/verify-code";
import { domainError, type TestDeps, testDeps } from "../../../support/deps.ts";
import { type Ceremony, SoftAuthenticator } from "../../../support/soft-authenticator.ts";
import {
  enrollKey,
  ORIGIN,
  RP_ID,
  registerKey,
  startLogin,
  verifyAssertion,
  webauthnApp,
} from "../../../support/webauthn.ts";

async function aliceWithKey(options: { keepsCounter?: boolean; userVerification?: "required" } = {}) {
  const d = await testDeps();
  const appId = await webauthnApp(d, (w) => {
    if (options.userVerification) w.userVerification = options.userVerification;
  });
  const registered = await registerKey(d, appId, "alice", { keepsCounter: options.keepsCounter });
  return { d, appId, ...registered };
}

const attemptsOf = async (d: TestDeps, appId: string) => (await d.userState(appId, "alice"))?.attempts ?? 0;

describe("logging in with a security key", () => {
  it("starts a challenge without sending anything or counting a send, then approves the assertion", async () => {
    const { d, appId, key, factorId } = await aliceWithKey();
    const sendsBefore = (await d.userState(appId, "alice"))?.sends;
    const { challengeId, started, requestOptions } = await startLogin(d, appId, "alice");
    expect(started).toMatchObject({ channel: "webauthn", expiresAt: d.clock.now() + 300_000 });
    expect(requestOptions).toMatchObject({
      rpId: RP_ID,
      userVerification: "preferred",
      allowCredentials: [{ id: key.id, type: "public-key", transports: ["usb"] }],
    });
    expect(Buffer.from(requestOptions.challenge, "base64url")).toHaveLength(32);
    expect(d.outbox).toEqual([]);
    expect((await d.userState(appId, "alice"))?.sends).toBe(sendsBefore);

    d.clock.advanceSeconds(5);
    const approval = await verifyAssertion(d, appId, "alice", challengeId, key.assert(requestOptions));
    expect(approval).toMatchObject({ status: "approved", method: "webauthn", recoveryCodesRemaining: 10 });
    const session = await validateSession(d, { appId, sessionToken: approval.sessionToken });
    expect(session).toMatchObject({ valid: true, userId: "alice" });
    const [view] = (await listFactors(d, { appId, userId: "alice" })).factors;
    expect(view).toMatchObject({ factorId, lastUsedAt: d.clock.now(), details: { signCount: 1 } });
    expect(d.audit.events.filter((e) => e.type === "verification.approved")).toEqual([
      expect.objectContaining({ channel: "webauthn", outcome: "approved" }),
    ]);
  });

  it("approves with any of the user's keys", async () => {
    const { d, appId } = await aliceWithKey();
    const second = await registerKey(d, appId, "alice", { alg: "RS256" });
    const { challengeId, requestOptions } = await startLogin(d, appId, "alice");
    expect(requestOptions.allowCredentials).toHaveLength(2);
    const approval = await verifyAssertion(d, appId, "alice", challengeId, second.key.assert(requestOptions));
    expect(approval.method).toBe("webauthn");
  });

  it("answers 404 no_factor without an active key, and 400 webauthn_not_configured without an rpId", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d);
    await enrollKey(d, appId, "alice"); // pending only
    const none = await domainError(
      sendChallenge(d, { appId, userId: "alice", channel: "webauthn", purpose: "login" }),
    );
    expect(none.code).toBe("no_factor");
    const { appId: plain } = await d.createApp("Plain");
    const unconfigured = await domainError(
      sendChallenge(d, { appId: plain, userId: "alice", channel: "webauthn", purpose: "login" }),
    );
    expect(unconfigured.code).toBe("webauthn_not_configured");
  });

  it("uses a challenge once: a replayed assertion is a wrong attempt", async () => {
    const { d, appId, key } = await aliceWithKey();
    const { challengeId, requestOptions } = await startLogin(d, appId, "alice");
    const assertion = key.assert(requestOptions);
    await verifyAssertion(d, appId, "alice", challengeId, assertion);
    const replay = await domainError(verifyAssertion(d, appId, "alice", challengeId, assertion));
    expect(replay).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: 2 } });
  });

  it("refuses an expired challenge as a wrong attempt", async () => {
    const { d, appId, key } = await aliceWithKey();
    const { challengeId, requestOptions } = await startLogin(d, appId, "alice");
    d.clock.advanceSeconds(300);
    const error = await domainError(
      verifyAssertion(d, appId, "alice", challengeId, key.assert(requestOptions)),
    );
    expect(error).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: 2 } });
  });

  it("supersedes an earlier challenge of the same purpose", async () => {
    const { d, appId, key } = await aliceWithKey();
    const first = await startLogin(d, appId, "alice");
    const second = await startLogin(d, appId, "alice");
    const old = await domainError(
      verifyAssertion(d, appId, "alice", first.challengeId, key.assert(first.requestOptions)),
    );
    expect(old.code).toBe("invalid_code");
    const approval = await verifyAssertion(
      d,
      appId,
      "alice",
      second.challengeId,
      key.assert(second.requestOptions),
    );
    expect(approval.status).toBe("approved");
  });

  const wrongAssertions: Array<[string, Ceremony]> = [
    ["a wrong origin", { origin: "https://evil.example.net" }],
    ["a wrong rpIdHash", { rpId: "evil.example.net" }],
    ["a tampered signature", { tamper: true }],
    ["another challenge", { challenge: Buffer.alloc(32, 9).toString("base64url") }],
    ["no user presence", { userPresent: false }],
    ["a registration's client data type", { type: "webauthn.create" }],
  ];
  it.each(wrongAssertions)(
    "refuses %s as a wrong attempt (422 invalid_code, counted)",
    async (_, ceremony) => {
      const { d, appId, key } = await aliceWithKey();
      const { challengeId, requestOptions } = await startLogin(d, appId, "alice");
      const error = await domainError(
        verifyAssertion(d, appId, "alice", challengeId, key.assert(requestOptions, ceremony)),
      );
      expect(error).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: 2 } });
      expect(await attemptsOf(d, appId)).toBe(1);
      // the challenge was not spent by the failure: the right assertion still works
      expect((await verifyAssertion(d, appId, "alice", challengeId, key.assert(requestOptions))).status).toBe(
        "approved",
      );
    },
  );

  it("refuses a tampered RS256 signature", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d);
    const { key } = await registerKey(d, appId, "alice", { alg: "RS256" });
    const { challengeId, requestOptions } = await startLogin(d, appId, "alice");
    const error = await domainError(
      verifyAssertion(d, appId, "alice", challengeId, key.assert(requestOptions, { tamper: true })),
    );
    expect(error.code).toBe("invalid_code");
  });

  it("refuses an unknown credential (another user's key, a key never registered)", async () => {
    const { d, appId } = await aliceWithKey();
    const bob = await registerKey(d, appId, "bob");
    const stranger = new SoftAuthenticator({ origin: ORIGIN });
    const { challengeId, requestOptions } = await startLogin(d, appId, "alice");
    for (const key of [bob.key, stranger]) {
      const error = await domainError(
        verifyAssertion(d, appId, "alice", challengeId, key.assert(requestOptions)),
      );
      expect(error.code).toBe("invalid_code");
    }
    expect(await attemptsOf(d, appId)).toBe(2);
  });

  it("refuses an assertion without user verification when the app requires it", async () => {
    const { d, appId, key } = await aliceWithKey({ userVerification: "required" });
    const { challengeId, requestOptions } = await startLogin(d, appId, "alice");
    expect(requestOptions.userVerification).toBe("required");
    const error = await domainError(
      verifyAssertion(d, appId, "alice", challengeId, key.assert(requestOptions, { userVerified: false })),
    );
    expect(error.code).toBe("invalid_code");
  });

  it("refuses a sign counter that does not increase, audits it, and keeps the stored counter", async () => {
    const { d, appId, key, factorId } = await aliceWithKey();
    let login = await startLogin(d, appId, "alice");
    await verifyAssertion(
      d,
      appId,
      "alice",
      login.challengeId,
      key.assert(login.requestOptions, { signCount: 7 }),
    );
    for (const clone of [7, 3]) {
      login = await startLogin(d, appId, "alice");
      const error = await domainError(
        verifyAssertion(
          d,
          appId,
          "alice",
          login.challengeId,
          key.assert(login.requestOptions, { signCount: clone }),
        ),
      );
      expect(error.code).toBe("invalid_code");
    }
    expect(d.audit.events.filter((e) => e.type === "webauthn.counter_regressed")).toEqual([
      expect.objectContaining({ userId: "alice", target: factorId, outcome: "stored 7, received 7" }),
      expect.objectContaining({ userId: "alice", target: factorId, outcome: "stored 7, received 3" }),
    ]);
    const [view] = (await listFactors(d, { appId, userId: "alice" })).factors;
    expect(view?.details).toMatchObject({ signCount: 7 });
    login = await startLogin(d, appId, "alice");
    const next = key.assert(login.requestOptions, { signCount: 8 });
    expect((await verifyAssertion(d, appId, "alice", login.challengeId, next)).status).toBe("approved");
  });

  it("accepts an authenticator without a counter (0 every time), and refuses 0 once it counted", async () => {
    const { d, appId, key } = await aliceWithKey({ keepsCounter: false });
    for (let i = 0; i < 3; i++) {
      const { challengeId, requestOptions } = await startLogin(d, appId, "alice");
      expect((await verifyAssertion(d, appId, "alice", challengeId, key.assert(requestOptions))).status).toBe(
        "approved",
      );
    }
    let login = await startLogin(d, appId, "alice");
    await verifyAssertion(
      d,
      appId,
      "alice",
      login.challengeId,
      key.assert(login.requestOptions, { signCount: 2 }),
    );
    login = await startLogin(d, appId, "alice");
    const zero = await domainError(
      verifyAssertion(d, appId, "alice", login.challengeId, key.assert(login.requestOptions)),
    );
    expect(zero.code).toBe("invalid_code");
  });
});

describe("failed assertions and the lock", () => {
  it("locks the user after maxVerifyAttempts failed assertions, for every method", async () => {
    const { d, appId, key } = await aliceWithKey();
    const { factorId: emailId } = await (async () => {
      await d.stepUp(appId, "alice");
      return d.enrollActive({ appId, userId: "alice", type: "email", email: "alice@example.com" });
    })();
    expect(emailId).toBeDefined();
    const { challengeId, requestOptions } = await startLogin(d, appId, "alice");
    for (const remaining of [2, 1]) {
      const error = await domainError(
        verifyAssertion(d, appId, "alice", challengeId, key.assert(requestOptions, { tamper: true })),
      );
      expect(error).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: remaining } });
    }
    const third = await domainError(
      verifyAssertion(d, appId, "alice", challengeId, key.assert(requestOptions, { tamper: true })),
    );
    expect(third.code).toBe("locked");
    expect(d.audit.events.some((e) => e.type === "user.locked")).toBe(true);
    const lockedUntil = (await d.userState(appId, "alice"))?.lockedUntil;
    d.clock.advanceSeconds(10);

    // while locked: the right assertion, a new webauthn challenge, an email code, a recovery code all answer 423
    const right = await domainError(
      verifyAssertion(d, appId, "alice", challengeId, key.assert(requestOptions)),
    );
    expect(right.code).toBe("locked");
    expect((await domainError(startLogin(d, appId, "alice"))).code).toBe("locked");
    expect(
      (await domainError(sendChallenge(d, { appId, userId: "alice", channel: "email", purpose: "login" })))
        .code,
    ).toBe("locked");
    expect((await domainError(verifyCode(d, { appId, userId: "alice", code: "aaaa-bbbb-cccc" }))).code).toBe(
      "locked",
    );
    // attempts while locked neither count nor extend the lock
    expect((await d.userState(appId, "alice"))?.lockedUntil).toBe(lockedUntil);

    // a locked user cannot register a key either
    await d.stepUp(appId, "alice").catch(() => undefined);
    expect((await domainError(enrollKey(d, appId, "alice"))).code).toBe("locked");
  });

  it("counts wrong codes and failed assertions together", async () => {
    const { d, appId, key } = await aliceWithKey();
    await d.stepUp(appId, "alice");
    const email = await d.enrollActive({ appId, userId: "alice", type: "email", email: "alice@example.com" });
    expect(email.factorId).toBeDefined();
    const sent = await sendChallenge(d, { appId, userId: "alice", channel: "email", purpose: "login" });
    await domainError(
      verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code: "000000" }),
    );
    await domainError(
      verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code: "000001" }),
    );
    const { challengeId, requestOptions } = await startLogin(d, appId, "alice");
    const error = await domainError(
      verifyAssertion(d, appId, "alice", challengeId, key.assert(requestOptions, { tamper: true })),
    );
    expect(error.code).toBe("locked");
  });
});

describe("parallel submissions", () => {
  it("approves exactly one of 100 parallel submissions of one assertion", async () => {
    const { d, appId, key } = await aliceWithKey();
    const { challengeId, requestOptions } = await startLogin(d, appId, "alice");
    const assertion = key.assert(requestOptions);
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, () => verifyAssertion(d, appId, "alice", challengeId, assertion)),
    );
    const approved = results.filter((r) => r.status === "fulfilled");
    expect(approved).toHaveLength(1);
    expect(d.approvals(appId, "alice")).toBe(1);
    for (const r of results) {
      if (r.status === "rejected")
        expect(["invalid_code", "rate_limited", "locked"]).toContain((r.reason as { code?: string }).code);
    }
    const [view] = (await listFactors(d, { appId, userId: "alice" })).factors;
    expect(view?.details).toMatchObject({ signCount: 1 });
  });

  it("activates a key once when its registration is submitted 20 times in parallel", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d);
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const { factor, creationOptions } = await enrollKey(d, appId, "alice");
    const credential = key.register(creationOptions);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        activateFactor(d, { appId, userId: "alice", factorId: factor.factorId, credential }),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected") {
        expect(["invalid_credential", "rate_limited"]).toContain((r.reason as { code?: string }).code);
      }
    }
    const list = await listFactors(d, { appId, userId: "alice" });
    expect(list.factors.filter((f) => f.status === "active")).toHaveLength(1);
  });
});
