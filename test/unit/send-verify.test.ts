import { describe, expect, it } from "vitest";
import { activateFactor } from "#core/use-cases/activate-factor";
import { enrollFactor } from "#core/use-cases/enroll-factor";
import { listFactors } from "#core/use-cases/list-factors";
import { sendChallenge } from "#core/use-cases/send-challenge";
import { validateSession } from "#core/use-cases/validate-session";
import { verifyCode } from "#core/use-cases/verify-code";
import { domainError, type TestDeps, testDeps } from "../support/deps.ts";

const EMAIL = "alice@example.com";

/** An app and a user "alice" with an active email factor; the enrollment's send window is over. */
async function aliceWithEmail(given?: TestDeps) {
  const d = given ?? (await testDeps());
  const { appId } = await d.createApp("Acme");
  const { factorId, recoveryCodes } = await d.enrollActive({
    appId,
    userId: "alice",
    type: "email",
    email: EMAIL,
  });
  d.clock.advanceSeconds(3600);
  return { d, appId, factorId, recoveryCodes };
}

const login = (appId: string, userId = "alice") =>
  ({ appId, userId, channel: "email", purpose: "login" }) as const;

const otherThan = (code: string): string => (code === "000000" ? "111111" : "000000");

describe("sending a code and verifying it", () => {
  it("approves the right code and issues a session that validateSession accepts", async () => {
    const { d, appId, factorId } = await aliceWithEmail();
    const sent = await sendChallenge(d, login(appId));
    expect(sent).toMatchObject({ channel: "email", destination: "a***@example.com", fallbackUsed: false });
    expect(sent.expiresAt).toBe(d.clock.now() + 300_000);

    d.clock.advanceSeconds(10);
    const approval = await verifyCode(d, {
      appId,
      userId: "alice",
      challengeId: sent.challengeId,
      code: d.latestCode(EMAIL),
    });
    expect(approval).toMatchObject({ status: "approved", method: "email", recoveryCodesRemaining: 10 });
    // signed claims and an HMAC-SHA256 (43 base64url characters)
    expect(approval.sessionToken).toMatch(/^otps_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(approval.sessionExpiresAt).toBe(d.clock.now() + 7_776_000_000);

    expect(await validateSession(d, { appId, sessionToken: approval.sessionToken })).toEqual({
      valid: true,
      userId: "alice",
      expiresAt: approval.sessionExpiresAt,
    });
    const listed = await listFactors(d, { appId, userId: "alice" });
    expect(listed.factors.find((f) => f.factorId === factorId)?.lastUsedAt).toBe(d.clock.now());
    // the token is signed, not stored
    const stored = await d.tableText();
    expect(stored).not.toContain(approval.sessionToken);
    expect(stored).not.toContain(approval.sessionToken.split(".")[1]);
  });

  it("a session token does not validate for another app", async () => {
    const { d, appId } = await aliceWithEmail();
    const other = await d.createApp("Other");
    const sent = await sendChallenge(d, login(appId));
    const { sessionToken } = await verifyCode(d, {
      appId,
      userId: "alice",
      challengeId: sent.challengeId,
      code: d.latestCode(EMAIL),
    });
    expect(await validateSession(d, { appId: other.appId, sessionToken })).toEqual({ valid: false });
    expect(await validateSession(d, { appId, sessionToken })).toMatchObject({ valid: true });
  });

  it("a session stops validating when it expires, and an unknown token never validates", async () => {
    const { d, appId } = await aliceWithEmail();
    await d.configure(appId, (c) => {
      c.sessions.durationSeconds = 60;
    });
    const sent = await sendChallenge(d, login(appId));
    const { sessionToken } = await verifyCode(d, {
      appId,
      userId: "alice",
      challengeId: sent.challengeId,
      code: d.latestCode(EMAIL),
    });
    d.clock.advanceSeconds(59);
    expect((await validateSession(d, { appId, sessionToken })).valid).toBe(true);
    d.clock.advanceSeconds(1);
    expect(await validateSession(d, { appId, sessionToken })).toEqual({ valid: false });
    expect(await validateSession(d, { appId, sessionToken: `${sessionToken}x` })).toEqual({ valid: false });
  });

  it("answers code_expired for a code that was already used", async () => {
    const { d, appId } = await aliceWithEmail();
    const sent = await sendChallenge(d, login(appId));
    const input = { appId, userId: "alice", challengeId: sent.challengeId, code: d.latestCode(EMAIL) };
    await verifyCode(d, input);
    const error = await domainError(verifyCode(d, input));
    expect(error.code).toBe("code_expired");
    expect(d.approvals(appId)).toBe(1);
  });

  it("accepts a code until just before its ttl ends", async () => {
    const { d, appId } = await aliceWithEmail();
    const sent = await sendChallenge(d, login(appId));
    d.clock.advanceMs(300_000 - 1);
    const approval = await verifyCode(d, {
      appId,
      userId: "alice",
      challengeId: sent.challengeId,
      code: d.latestCode(EMAIL),
    });
    expect(approval.status).toBe("approved");
  });

  it("answers code_expired for a code past its ttl, although the challenge is still stored", async () => {
    const { d, appId } = await aliceWithEmail();
    await d.configure(appId, (c) => {
      c.code.ttlSeconds = 60;
    });
    const sent = await sendChallenge(d, login(appId));
    expect(sent.expiresAt).toBe(d.clock.now() + 60_000);
    d.clock.advanceSeconds(61);
    const error = await domainError(
      verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code: d.latestCode(EMAIL) }),
    );
    expect(error.code).toBe("code_expired");
    const state = await d.userState(appId, "alice");
    expect(state?.challenges?.login?.id).toBe(sent.challengeId);
    expect(state?.attempts ?? 0).toBe(0);
  });

  it("a new challenge supersedes the earlier one of the same purpose", async () => {
    const { d, appId } = await aliceWithEmail();
    const first = await sendChallenge(d, login(appId));
    const firstCode = d.latestCode(EMAIL);
    const second = await sendChallenge(d, login(appId));
    const secondCode = d.latestCode(EMAIL);

    const error = await domainError(
      verifyCode(d, { appId, userId: "alice", challengeId: first.challengeId, code: firstCode }),
    );
    expect(error.code).toBe("code_expired");
    const approval = await verifyCode(d, {
      appId,
      userId: "alice",
      challengeId: second.challengeId,
      code: secondCode,
    });
    expect(approval.status).toBe("approved");
  });

  it("a challenge of another purpose does not supersede a login challenge", async () => {
    const { d, appId } = await aliceWithEmail();
    const loginChallenge = await sendChallenge(d, login(appId));
    const loginCode = d.latestCode(EMAIL);
    await sendChallenge(d, { ...login(appId), purpose: "step_up" });
    const approval = await verifyCode(d, {
      appId,
      userId: "alice",
      challengeId: loginChallenge.challengeId,
      code: loginCode,
    });
    expect(approval.status).toBe("approved");
  });

  it("the code of one user's challenge fails for another user with challenge_not_found", async () => {
    const { d, appId } = await aliceWithEmail();
    await d.enrollActive({ appId, userId: "bob", type: "email", email: "bob@example.com" });
    const sent = await sendChallenge(d, login(appId));
    const code = d.latestCode(EMAIL);

    const error = await domainError(
      verifyCode(d, { appId, userId: "bob", challengeId: sent.challengeId, code }),
    );
    expect(error.code).toBe("challenge_not_found");
    expect(d.approvals(appId)).toBe(0);
    expect((await d.userState(appId, "bob"))?.attempts ?? 0).toBe(0);
    const approval = await verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code });
    expect(approval.status).toBe("approved");
  });

  it("the code of a challenge fails in another app with challenge_not_found", async () => {
    const { d, appId } = await aliceWithEmail();
    const other = await d.createApp("Other");
    const sent = await sendChallenge(d, login(appId));
    const error = await domainError(
      verifyCode(d, {
        appId: other.appId,
        userId: "alice",
        challengeId: sent.challengeId,
        code: d.latestCode(EMAIL),
      }),
    );
    expect(error.code).toBe("challenge_not_found");
  });

  it("a wrong code answers invalid_code with attemptsRemaining and leaves the challenge usable", async () => {
    const { d, appId } = await aliceWithEmail();
    const sent = await sendChallenge(d, login(appId));
    const code = d.latestCode(EMAIL);
    const error = await domainError(
      verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code: otherThan(code) }),
    );
    expect(error.code).toBe("invalid_code");
    expect(error.extras).toEqual({ attemptsRemaining: 2 });
    expect(
      (await verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code })).status,
    ).toBe("approved");
  });

  it("answers challenge_not_found for an unknown challenge id without counting it", async () => {
    const { d, appId } = await aliceWithEmail();
    const error = await domainError(
      verifyCode(d, { appId, userId: "alice", challengeId: "ch_nope", code: "123456" }),
    );
    expect(error.code).toBe("challenge_not_found");
    expect((await d.userState(appId, "alice"))?.attempts ?? 0).toBe(0);
  });

  it("answers no_factor when the user has no active factor for any allowed channel", async () => {
    const d = await testDeps();
    const { appId } = await d.createApp("Acme");
    await enrollFactor(d, { appId, userId: "alice", type: "email", email: EMAIL }); // pending only
    const sentBefore = d.emailProvider.attempts.length;
    for (const channel of ["auto", "email", "sms"] as const) {
      const error = await domainError(sendChallenge(d, { ...login(appId), channel }));
      expect(error.code).toBe("no_factor");
    }
    expect((await domainError(sendChallenge(d, login(appId, "stranger")))).code).toBe("no_factor");
    expect(d.emailProvider.attempts).toHaveLength(sentBefore);
  });

  it("uses the configured code length and the locale's template", async () => {
    const { d, appId } = await aliceWithEmail();
    await d.configure(appId, (c) => {
      c.code.length = 8;
      c.code.ttlSeconds = 600;
      c.templates.pt = {
        emailSubject: "Código {app}",
        emailText: "Seu código {app}: {code} ({minutes} min)",
      };
    });
    const sent = await sendChallenge(d, { ...login(appId), locale: "pt-BR" });
    const mail = d.emailProvider.sent.at(-1);
    expect(mail?.subject).toBe("Código Acme");
    expect(mail?.body).toMatch(/^Seu código Acme: \d{8} \(10 min\)$/);
    const code = d.latestCode(EMAIL);
    expect(code).toHaveLength(8);
    const approval = await verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code });
    expect(approval.status).toBe("approved");
  });

  it("approves exactly one of 50 concurrent uses of the same right code", async () => {
    const { d, appId } = await aliceWithEmail();
    const sent = await sendChallenge(d, login(appId));
    const input = { appId, userId: "alice", challengeId: sent.challengeId, code: d.latestCode(EMAIL) };
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => verifyCode(d, input)));
    const approved = results.filter((r) => r.status === "fulfilled");
    expect(approved).toHaveLength(1);
    const codes = results.flatMap((r) =>
      r.status === "rejected" ? [(r.reason as { code?: string }).code] : [],
    );
    // the others find the code used, or every attempt in flight: none is compared twice
    expect([...new Set(codes)].every((c) => c === "code_expired" || c === "rate_limited")).toBe(true);
    expect(d.approvals(appId)).toBe(1);
    const state = await d.userState(appId, "alice");
    expect(state?.sessions).toHaveLength(1);
    expect(state?.challenges?.login).toBeUndefined();
  });
});

describe("a second factor", () => {
  it("an sms factor enrolled after email can receive login codes by sms", async () => {
    const { d, appId } = await aliceWithEmail();
    await d.stepUp(appId, "alice");
    const enrolled = await enrollFactor(d, { appId, userId: "alice", type: "sms", phone: "+14155550123" });
    await activateFactor(d, {
      appId,
      userId: "alice",
      factorId: enrolled.factor.factorId,
      code: d.latestCode("+14155550123"),
    });
    const sent = await sendChallenge(d, { appId, userId: "alice", channel: "auto", purpose: "login" });
    expect(sent).toMatchObject({ channel: "sms", destination: "+1******0123", fallbackUsed: false });
    const approval = await verifyCode(d, {
      appId,
      userId: "alice",
      challengeId: sent.challengeId,
      code: d.latestCode("+14155550123"),
    });
    expect(approval.method).toBe("sms");
  });
});
