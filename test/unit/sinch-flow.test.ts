import { describe, expect, it } from "vitest";
import { activateFactor } from "#core/use-cases/activate-factor";
import { sendChallenge } from "#core/use-cases/send-challenge";
import { verifyCode } from "#core/use-cases/verify-code";
import { domainError, enrollWithCode, testDeps } from "../support/deps.ts";

const PHONE = "+14155550123";

/** An app whose sms provider is Sinch-style: the provider makes and checks the code. */
async function sinchApp() {
  const d = await testDeps();
  const { appId } = await d.createApp("Acme");
  await d.configure(appId, (c) => {
    c.sms.provider = "sinch";
  });
  return { d, appId };
}

describe("sms codes made and checked by the provider (sinch)", () => {
  it("enrolls and activates through the provider, not through the plain sms provider", async () => {
    const { d, appId } = await sinchApp();
    const enrolled = await enrollWithCode(d, { appId, userId: "alice", type: "sms", phone: PHONE });
    expect(d.smsProvider.attempts).toEqual([]);
    expect(d.verificationProvider.started).toEqual([expect.objectContaining({ to: PHONE })]);
    // the provider holds the code: the slot keeps its verification id and no hash
    const slot = (await d.userState(appId, "alice"))?.challenges?.activation_sms;
    expect(slot).toMatchObject({
      id: enrolled.challengeId,
      hash: "",
      verificationId: d.verificationProvider.started[0]?.verificationId,
    });

    const activated = await activateFactor(d, {
      appId,
      userId: "alice",
      factorId: enrolled.factor.factorId,
      code: d.latestCode(PHONE),
    });
    expect(activated.factor.status).toBe("active");
  });

  it("a wrong code counts, a used code answers code_expired, and only one approval per code", async () => {
    const { d, appId } = await sinchApp();
    await d.enrollActive({ appId, userId: "alice", type: "sms", phone: PHONE });
    const sent = await sendChallenge(d, { appId, userId: "alice", channel: "sms", purpose: "login" });
    const code = d.latestCode(PHONE);
    const wrong = code === "000000" ? "111111" : "000000";

    const error = await domainError(
      verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code: wrong }),
    );
    expect(error).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: 2 } });
    const approval = await verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code });
    expect(approval).toMatchObject({ status: "approved", method: "sms" });
    const reuse = await domainError(
      verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code }),
    );
    expect(reuse.code).toBe("code_expired");
    expect(d.approvals(appId)).toBe(1);
  });

  it("does not ask the provider while the user is locked", async () => {
    const { d, appId } = await sinchApp();
    await d.enrollActive({ appId, userId: "alice", type: "sms", phone: PHONE });
    const sent = await sendChallenge(d, { appId, userId: "alice", channel: "sms", purpose: "login" });
    const code = d.latestCode(PHONE);
    const wrong = code === "000000" ? "111111" : "000000";
    for (let i = 0; i < 3; i++)
      await domainError(
        verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code: wrong }),
      );
    const locked = await domainError(
      verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code }),
    );
    expect(locked.code).toBe("locked");
    expect(d.verificationProvider.started.at(-1)?.used).toBe(false);
  });
});
