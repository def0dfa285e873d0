import { describe, expect, it } from "vitest";
import { getUser, revokeAllSessions } from "#core/use-cases/admin";
import { listFactors } from "#core/use-cases/list-factors";
import {
  disableMfa,
  regenerateRecoveryCodes,
  removeFactor,
  revokeUserSessions,
} from "#core/use-cases/manage-mfa";
import { sendChallenge } from "#core/use-cases/send-challenge";
import { validateSession } from "#core/use-cases/validate-session";
import { verifyCode } from "#core/use-cases/verify-code";
import { domainError, type TestDeps, testDeps } from "../support/deps.ts";

const EMAIL = "alice@example.com";

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

/** Verifies alice with an emailed code: a fresh session and a fresh step-up. */
async function verifyByEmail(d: TestDeps, appId: string) {
  const sent = await sendChallenge(d, { appId, userId: "alice", channel: "email", purpose: "step_up" });
  return verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code: d.latestCode(EMAIL) });
}

describe("recovery codes", () => {
  it("work once each", async () => {
    const { d, appId, recoveryCodes } = await aliceWithEmail();
    const [first, second] = recoveryCodes;
    const approval = await verifyCode(d, { appId, userId: "alice", code: first ?? "" });
    expect(approval).toMatchObject({ status: "approved", method: "recovery", recoveryCodesRemaining: 9 });
    expect(await validateSession(d, { appId, sessionToken: approval.sessionToken })).toMatchObject({
      valid: true,
    });

    const again = await domainError(verifyCode(d, { appId, userId: "alice", code: first ?? "" }));
    // a spent code is told so, and not counted as a wrong guess
    expect(again).toMatchObject({ code: "code_expired" });
    expect((await d.userState(appId, "alice"))?.attempts ?? 0).toBe(0);

    const next = await verifyCode(d, { appId, userId: "alice", code: second ?? "" });
    expect(next.recoveryCodesRemaining).toBe(8);
  });

  it("are accepted in upper case and without dashes", async () => {
    const { d, appId, recoveryCodes } = await aliceWithEmail();
    const typed = (recoveryCodes[0] ?? "").toUpperCase().replaceAll("-", "");
    const approval = await verifyCode(d, { appId, userId: "alice", code: typed });
    expect(approval.method).toBe("recovery");
    expect(
      (await domainError(verifyCode(d, { appId, userId: "alice", code: recoveryCodes[0] ?? "" }))).code,
    ).toBe("code_expired");
  });

  it("belong to their user and app", async () => {
    const { d, appId, recoveryCodes } = await aliceWithEmail();
    await d.enrollActive({ appId, userId: "bob", type: "email", email: "bob@example.com" });
    const other = await d.createApp("Other");
    await d.enrollActive({ appId: other.appId, userId: "alice", type: "email", email: EMAIL });
    const code = recoveryCodes[0] ?? "";
    expect((await domainError(verifyCode(d, { appId, userId: "bob", code }))).code).toBe("invalid_code");
    expect((await domainError(verifyCode(d, { appId: other.appId, userId: "alice", code }))).code).toBe(
      "invalid_code",
    );
    expect((await verifyCode(d, { appId, userId: "alice", code })).method).toBe("recovery");
  });

  it("of 20 concurrent uses of one code, exactly one is approved", async () => {
    const { d, appId, recoveryCodes } = await aliceWithEmail();
    await d.configure(appId, (c) => {
      c.limits.maxVerifyAttempts = 10;
    });
    const code = recoveryCodes[0] ?? "";
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => verifyCode(d, { appId, userId: "alice", code })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(d.approvals(appId)).toBe(1);
    const state = await d.userState(appId, "alice");
    expect(state?.sessions).toHaveLength(1);
    expect(state?.recovery?.size).toBe(9);
    expect(state?.recoveryUsed?.size).toBe(1);
  });

  it("are all replaced by a regeneration after a step-up", async () => {
    const { d, appId, recoveryCodes } = await aliceWithEmail();
    await verifyByEmail(d, appId);
    const fresh = await regenerateRecoveryCodes(d, { appId, userId: "alice" });
    expect(fresh).toHaveLength(10);
    expect(fresh.filter((c) => recoveryCodes.includes(c))).toEqual([]);

    const old = await domainError(verifyCode(d, { appId, userId: "alice", code: recoveryCodes[1] ?? "" }));
    expect(old.code).toBe("invalid_code");
    const approval = await verifyCode(d, { appId, userId: "alice", code: fresh[0] ?? "" });
    expect(approval).toMatchObject({ method: "recovery", recoveryCodesRemaining: 9 });
  });

  it("need a step-up within stepUpSeconds to be regenerated", async () => {
    const { d, appId } = await aliceWithEmail();
    await verifyByEmail(d, appId);
    d.clock.advanceSeconds(301);
    const error = await domainError(regenerateRecoveryCodes(d, { appId, userId: "alice" }));
    expect(error.code).toBe("step_up_required");
  });

  it("cannot be made for a user without MFA", async () => {
    const d = await testDeps();
    const { appId } = await d.createApp("Acme");
    expect((await domainError(regenerateRecoveryCodes(d, { appId, userId: "nobody" }))).code).toBe(
      "no_factor",
    );
  });
});

describe("turning MFA off", () => {
  it("removes factors, recovery codes and sessions", async () => {
    const { d, appId, recoveryCodes } = await aliceWithEmail();
    const { sessionToken } = await verifyByEmail(d, appId);
    d.clock.advanceSeconds(1);
    await disableMfa(d, { appId, userId: "alice" });

    expect(await listFactors(d, { appId, userId: "alice" })).toMatchObject({
      enabled: false,
      factors: [],
      recoveryCodesRemaining: 0,
    });
    expect(await validateSession(d, { appId, sessionToken })).toEqual({ valid: false });
    expect(
      (await domainError(verifyCode(d, { appId, userId: "alice", code: recoveryCodes[0] ?? "" }))).code,
    ).toBe("invalid_code");
    expect(
      (await domainError(sendChallenge(d, { appId, userId: "alice", channel: "auto", purpose: "login" })))
        .code,
    ).toBe("no_factor");
  });

  it("needs a step-up while MFA is on", async () => {
    const { d, appId } = await aliceWithEmail();
    expect((await domainError(disableMfa(d, { appId, userId: "alice" }))).code).toBe("step_up_required");
    expect((await listFactors(d, { appId, userId: "alice" })).enabled).toBe(true);
  });
});

describe("removing a factor", () => {
  it("removing the last active factor turns MFA off, drops the recovery codes and ends the sessions", async () => {
    const { d, appId, factorId, recoveryCodes } = await aliceWithEmail();
    const { sessionToken } = await verifyByEmail(d, appId);
    await removeFactor(d, { appId, userId: "alice", factorId });
    expect(await validateSession(d, { appId, sessionToken })).toEqual({ valid: false });
    expect(await listFactors(d, { appId, userId: "alice" })).toMatchObject({
      enabled: false,
      factors: [],
      recoveryCodesRemaining: 0,
    });
    expect(
      (await domainError(verifyCode(d, { appId, userId: "alice", code: recoveryCodes[0] ?? "" }))).code,
    ).toBe("invalid_code");
  });

  it("keeps MFA on while another factor stays active", async () => {
    const { d, appId, factorId } = await aliceWithEmail();
    await d.enrollActive({ appId, userId: "alice", type: "sms", phone: "+14155550123" });
    await verifyByEmail(d, appId);
    await removeFactor(d, { appId, userId: "alice", factorId });
    const listed = await listFactors(d, { appId, userId: "alice" });
    expect(listed).toMatchObject({ enabled: true, recoveryCodesRemaining: 10 });
    expect(listed.factors.map((f) => f.type)).toEqual(["sms"]);
  });

  it("answers step_up_required without a recent verification, factor_not_found for an unknown one", async () => {
    const { d, appId, factorId } = await aliceWithEmail();
    expect((await domainError(removeFactor(d, { appId, userId: "alice", factorId }))).code).toBe(
      "step_up_required",
    );
    await verifyByEmail(d, appId);
    expect((await domainError(removeFactor(d, { appId, userId: "alice", factorId: "fac_nope" }))).code).toBe(
      "factor_not_found",
    );
  });
});

describe("revoking a user's sessions", () => {
  it("stops the sessions issued before, not those issued after, nor other users'", async () => {
    const { d, appId } = await aliceWithEmail();
    await d.enrollActive({ appId, userId: "bob", type: "email", email: "bob@example.com" });
    const before = await verifyByEmail(d, appId);
    const bobSent = await sendChallenge(d, { appId, userId: "bob", channel: "email", purpose: "login" });
    const bob = await verifyCode(d, {
      appId,
      userId: "bob",
      challengeId: bobSent.challengeId,
      code: d.latestCode("bob@example.com"),
    });
    d.clock.advanceSeconds(1);
    await revokeUserSessions(d, { appId, userId: "alice" });
    d.clock.advanceSeconds(1);
    const after = await verifyByEmail(d, appId);

    expect(await validateSession(d, { appId, sessionToken: before.sessionToken })).toEqual({ valid: false });
    expect(await validateSession(d, { appId, sessionToken: after.sessionToken })).toMatchObject({
      valid: true,
    });
    expect(await validateSession(d, { appId, sessionToken: bob.sessionToken })).toMatchObject({
      valid: true,
      userId: "bob",
    });
  });
});

describe("revoking every session of the app", () => {
  it("stops every session issued before, for every user", async () => {
    const { d, appId } = await aliceWithEmail();
    const before = await verifyByEmail(d, appId);
    expect((await getUser(d, appId, "alice")).activeSessions).toBe(1);
    d.clock.advanceSeconds(1);
    await revokeAllSessions(d, appId);
    expect((await getUser(d, appId, "alice")).activeSessions).toBe(0);
    d.clock.advanceSeconds(1);
    const after = await verifyByEmail(d, appId);
    expect((await getUser(d, appId, "alice")).activeSessions).toBe(1);
    expect(await validateSession(d, { appId, sessionToken: before.sessionToken })).toEqual({ valid: false });
    expect(await validateSession(d, { appId, sessionToken: after.sessionToken })).toMatchObject({
      valid: true,
    });
  });
});
