import { describe, expect, it } from "vitest";
import { activateFactor } from "#core/use-cases/activate-factor";
import { listFactors } from "#core/use-cases/list-factors";
import { verifyCode } from "#core/use-cases/verify-code";
import {
  codeIn,
  domainError,
  enrollWithCode as enrollFactor,
  type TestDeps,
  testDeps,
} from "../support/deps.ts";

const RECOVERY_FORMAT = /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/;

async function setup(): Promise<{ d: TestDeps; appId: string }> {
  const d = await testDeps();
  const { appId } = await d.createApp("Acme");
  return { d, appId };
}

describe("enrolling an email factor", () => {
  it("sends a code and returns a pending factor with a masked destination", async () => {
    const { d, appId } = await setup();
    const enrolled = await enrollFactor(d, {
      appId,
      userId: "alice",
      type: "email",
      email: "alice@example.com",
    });

    expect(enrolled.factor).toMatchObject({ type: "email", destination: "a***@example.com" });
    expect((await listFactors(d, { appId, userId: "alice" })).factors).toEqual([
      expect.objectContaining({ factorId: enrolled.factor.factorId, status: "pending" }),
    ]);
    expect(enrolled.challengeId).toMatch(/^ch_/);
    expect(enrolled.expiresAt).toBe(d.clock.now() + 300_000);
    expect(d.emailProvider.sent).toHaveLength(1);
    const [mail] = d.emailProvider.sent;
    expect(mail).toMatchObject({ to: "alice@example.com", subject: "Your Acme verification code" });
    expect(mail && codeIn(mail)).toMatch(/^\d{6}$/);
    expect(mail?.html).toContain(`<strong>${d.latestCode("alice@example.com")}</strong>`);
    expect(d.smsProvider.attempts).toHaveLength(0);
  });

  it("stores the factor pending and the code only as a hash", async () => {
    const { d, appId } = await setup();
    const enrolled = await enrollFactor(d, {
      appId,
      userId: "alice",
      type: "email",
      email: "alice@example.com",
    });
    const code = d.latestCode("alice@example.com");
    const listed = await listFactors(d, { appId, userId: "alice" });
    expect(listed.enabled).toBe(false);
    expect(listed.factors).toEqual([
      expect.objectContaining({ factorId: enrolled.factor.factorId, status: "pending" }),
    ]);
    const state = await d.userState(appId, "alice");
    expect(state?.factors ?? {}).toEqual({});
    expect(Object.values(state?.challenges ?? {})).toEqual([
      expect.objectContaining({
        id: enrolled.challengeId,
        factorId: enrolled.factor.factorId,
        purpose: "activation",
        channel: "email",
      }),
    ]);
    expect(await d.tableText()).not.toMatch(new RegExp(`\\b${code}\\b`));
  });

  it("refuses an invalid address with invalid_email, sending and counting nothing", async () => {
    const { d, appId } = await setup();
    const error = await domainError(
      enrollFactor(d, { appId, userId: "alice", type: "email", email: "alice@" }),
    );
    expect(error.code).toBe("invalid_email");
    expect(d.emailProvider.attempts).toHaveLength(0);
    expect((await listFactors(d, { appId, userId: "alice" })).factors).toEqual([]);
    expect(await d.userState(appId, "alice")).toBeUndefined();
  });

  it("answers app_not_found for an unknown app", async () => {
    const { d } = await setup();
    const error = await domainError(
      enrollFactor(d, { appId: "app_missing", userId: "alice", type: "email", email: "alice@example.com" }),
    );
    expect(error.code).toBe("app_not_found");
  });
});

describe("enrolling an sms factor", () => {
  it("reads a national number with the default country code and masks it", async () => {
    const { d, appId } = await setup();
    const enrolled = await enrollFactor(d, { appId, userId: "bob", type: "sms", phone: "(415) 555-0123" });
    expect(enrolled.factor).toMatchObject({
      type: "sms",
      destination: "+1******0123",
      address: "+14155550123",
    });
    expect(d.smsProvider.sent).toEqual([
      expect.objectContaining({
        to: "+14155550123",
        body: expect.stringMatching(/^Your Acme code is \d{6}\. It expires in 5 min\.$/),
      }),
    ]);
  });

  it("answers invalid_phone and country_not_allowed as the app's sms settings say", async () => {
    const { d, appId } = await setup();
    await d.configure(appId, (c) => {
      c.sms.allowedCountries = ["US"];
    });
    expect(
      (await domainError(enrollFactor(d, { appId, userId: "bob", type: "sms", phone: "12" }))).code,
    ).toBe("invalid_phone");
    expect(
      (await domainError(enrollFactor(d, { appId, userId: "bob", type: "sms", phone: "+447400123456" })))
        .code,
    ).toBe("country_not_allowed");
    expect(d.smsProvider.attempts).toHaveLength(0);
  });
});

describe("activating a factor", () => {
  it("with the right code returns the active factor and 10 recovery codes", async () => {
    const { d, appId } = await setup();
    const enrolled = await enrollFactor(d, {
      appId,
      userId: "alice",
      type: "email",
      email: "alice@example.com",
    });
    const activated = await activateFactor(d, {
      appId,
      userId: "alice",
      factorId: enrolled.factor.factorId,
      code: d.latestCode("alice@example.com"),
    });

    expect(activated.factor).toMatchObject({ factorId: enrolled.factor.factorId, status: "active" });
    const codes = activated.recoveryCodes ?? [];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(RECOVERY_FORMAT);

    const listed = await listFactors(d, { appId, userId: "alice" });
    expect(listed).toMatchObject({ enabled: true, enrollmentRequired: false, recoveryCodesRemaining: 10 });
    expect(listed.factors).toEqual([expect.objectContaining({ type: "email", status: "active" })]);
    const stored = await d.tableText();
    for (const code of codes) expect(stored).not.toContain(code);
  });

  it("gives recovery codes only on the activation that turns MFA on", async () => {
    const { d, appId } = await setup();
    const first = await d.enrollActive({ appId, userId: "alice", type: "email", email: "alice@example.com" });
    expect(first.recoveryCodes).toHaveLength(10);

    const sms = await enrollFactor(d, { appId, userId: "alice", type: "sms", phone: "+14155550123" });
    const second = await activateFactor(d, {
      appId,
      userId: "alice",
      factorId: sms.factor.factorId,
      code: d.latestCode("+14155550123"),
    });
    expect(second.factor.status).toBe("active");
    expect(second.recoveryCodes).toBeUndefined();
    expect((await listFactors(d, { appId, userId: "alice" })).recoveryCodesRemaining).toBe(10);
  });

  it("gives the configured number of recovery codes", async () => {
    const { d, appId } = await setup();
    await d.configure(appId, (c) => {
      c.recoveryCodes.count = 5;
    });
    const { recoveryCodes } = await d.enrollActive({
      appId,
      userId: "u",
      type: "email",
      email: "u@example.com",
    });
    expect(recoveryCodes).toHaveLength(5);
  });

  it("with a wrong code answers invalid_code with attemptsRemaining, and the right code still works", async () => {
    const { d, appId } = await setup();
    const enrolled = await enrollFactor(d, {
      appId,
      userId: "alice",
      type: "email",
      email: "alice@example.com",
    });
    const code = d.latestCode("alice@example.com");
    const wrong = code === "000000" ? "000001" : "000000";
    const input = { appId, userId: "alice", factorId: enrolled.factor.factorId };

    const first = await domainError(activateFactor(d, { ...input, code: wrong }));
    expect(first.code).toBe("invalid_code");
    expect(first.extras.attemptsRemaining).toBe(2);
    const second = await domainError(activateFactor(d, { ...input, code: wrong }));
    expect(second.extras.attemptsRemaining).toBe(1);

    const activated = await activateFactor(d, { ...input, code });
    expect(activated.factor.status).toBe("active");
    expect((await d.userState(appId, "alice"))?.attempts).toBe(0);
  });

  it("answers code_expired once the code's ttl has passed", async () => {
    const { d, appId } = await setup();
    const enrolled = await enrollFactor(d, {
      appId,
      userId: "alice",
      type: "email",
      email: "alice@example.com",
    });
    d.clock.advanceSeconds(301);
    const error = await domainError(
      activateFactor(d, {
        appId,
        userId: "alice",
        factorId: enrolled.factor.factorId,
        code: d.latestCode("alice@example.com"),
      }),
    );
    expect(error.code).toBe("code_expired");
    expect((await listFactors(d, { appId, userId: "alice" })).enabled).toBe(false);
  });

  it("answers factor_exists for a factor that is already active", async () => {
    const { d, appId } = await setup();
    const { factorId } = await d.enrollActive({
      appId,
      userId: "alice",
      type: "email",
      email: "alice@example.com",
    });
    const error = await domainError(
      activateFactor(d, { appId, userId: "alice", factorId, code: d.latestCode("alice@example.com") }),
    );
    expect(error.code).toBe("factor_exists");
  });

  it("answers factor_not_found for another user's factor", async () => {
    const { d, appId } = await setup();
    const enrolled = await enrollFactor(d, {
      appId,
      userId: "alice",
      type: "email",
      email: "alice@example.com",
    });
    const error = await domainError(
      activateFactor(d, {
        appId,
        userId: "mallory",
        factorId: enrolled.factor.factorId,
        code: d.latestCode("alice@example.com"),
      }),
    );
    expect(error.code).toBe("factor_not_found");
  });
});

describe("re-enrolling", () => {
  it("replaces a pending factor of the same type and kills its code", async () => {
    const { d, appId } = await setup();
    const first = await enrollFactor(d, {
      appId,
      userId: "alice",
      type: "email",
      email: "alice@example.com",
    });
    const firstCode = d.latestCode("alice@example.com");
    const second = await enrollFactor(d, {
      appId,
      userId: "alice",
      type: "email",
      email: "alice2@example.com",
    });

    const gone = await domainError(
      activateFactor(d, { appId, userId: "alice", factorId: first.factor.factorId, code: firstCode }),
    );
    expect(gone.code).toBe("factor_not_found");
    const listed = await listFactors(d, { appId, userId: "alice" });
    expect(listed.factors.map((f) => f.factorId)).toEqual([second.factor.factorId]);
    // The activation slot holds only the newer code.
    const slots = (await d.userState(appId, "alice"))?.challenges ?? {};
    expect(Object.values(slots).map((slot) => slot.id)).toEqual([second.challengeId]);

    const activated = await activateFactor(d, {
      appId,
      userId: "alice",
      factorId: second.factor.factorId,
      code: d.latestCode("alice2@example.com"),
    });
    expect(activated.factor.destination).toBe("a***@example.com");
  });

  it("answers factor_exists when the user already has an active factor of that type", async () => {
    const { d, appId } = await setup();
    await d.enrollActive({ appId, userId: "alice", type: "email", email: "alice@example.com" });
    const sentBefore = d.emailProvider.attempts.length;
    const error = await domainError(
      enrollFactor(d, { appId, userId: "alice", type: "email", email: "other@example.com" }),
    );
    expect(error.code).toBe("factor_exists");
    expect(d.emailProvider.attempts).toHaveLength(sentBefore);
  });
});

describe("an enrollment code", () => {
  it("cannot be used to log in (challenge_not_found)", async () => {
    const { d, appId } = await setup();
    const enrolled = await enrollFactor(d, {
      appId,
      userId: "alice",
      type: "email",
      email: "alice@example.com",
    });
    const error = await domainError(
      verifyCode(d, {
        appId,
        userId: "alice",
        challengeId: enrolled.challengeId,
        code: d.latestCode("alice@example.com"),
      }),
    );
    expect(error.code).toBe("challenge_not_found");
    expect(d.approvals(appId)).toBe(0);
    expect((await d.userState(appId, "alice"))?.sessions).toBeUndefined();
  });
});

describe("listing factors", () => {
  it("answers enabled: false and no factors for an unknown user", async () => {
    const { d, appId } = await setup();
    expect(await listFactors(d, { appId, userId: "nobody" })).toEqual({
      userId: "nobody",
      enabled: false,
      enrollmentRequired: false,
      factors: [],
      recoveryCodesRemaining: 0,
    });
  });

  it("says enrollment is required when the app requires MFA", async () => {
    const { d, appId } = await setup();
    await d.configure(appId, (c) => {
      c.mfa.required = true;
      c.mfa.exemptUserIds = ["robot"];
    });
    expect((await listFactors(d, { appId, userId: "alice" })).enrollmentRequired).toBe(true);
    expect((await listFactors(d, { appId, userId: "robot" })).enrollmentRequired).toBe(false);
  });
});
