import { generateSync } from "otplib";
import { describe, expect, it } from "vitest";
import { activateFactor } from "#core/use-cases/activate-factor";
import { listFactors } from "#core/use-cases/list-factors";
import { verifyCode } from "#core/use-cases/verify-code";
import { domainError, enrollTotp, type TestDeps, testDeps } from "../support/deps.ts";

const stepOf = (d: TestDeps) => Math.floor(d.clock.now() / 30_000);
const codeAt = (secret: string, epochMs: number) =>
  generateSync({ secret, epoch: Math.floor(epochMs / 1000) });

async function aliceWithTotp() {
  const d = await testDeps();
  const { appId } = await d.createApp("Acme");
  const enrolled = await enrollTotp(d, { appId, userId: "alice", label: "alice@example.com" });
  return { d, appId, enrolled, secret: enrolled.secret };
}

describe("enrolling an authenticator app", () => {
  it("returns a 160-bit base32 secret, an otpauth URI and QR codes, and stores the secret encrypted", async () => {
    const { d, appId, enrolled, secret } = await aliceWithTotp();
    expect(enrolled.factor).toMatchObject({ type: "totp", destination: "a***@example.com" });
    expect((await listFactors(d, { appId, userId: "alice" })).factors).toEqual([
      expect.objectContaining({ factorId: enrolled.factor.factorId, status: "pending" }),
    ]);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 32 base32 characters = 160 bits
    const uri = new URL(enrolled.otpauthUri);
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.searchParams.get("secret")).toBe(secret);
    expect(uri.searchParams.get("issuer")).toBe("Acme");
    expect(uri.searchParams.get("digits")).toBe("6");
    expect(uri.searchParams.get("period")).toBe("30");
    expect(enrolled.qrCodeSvg).toMatch(/<svg[\s\S]*<\/svg>/);
    expect(enrolled.qrCodeDataUrl).toMatch(/^data:image\/png;base64,/);
    const stored = await d.tableText();
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(secret.toLowerCase());
    expect(d.outbox).toEqual([]);
  });
});

describe("verifying with an authenticator app", () => {
  it("activates with the current code, then approves a code of a later step", async () => {
    const { d, appId, enrolled, secret } = await aliceWithTotp();
    const activated = await activateFactor(d, {
      appId,
      userId: "alice",
      factorId: enrolled.factor.factorId,
      code: codeAt(secret, d.clock.now()),
    });
    expect(activated.factor.status).toBe("active");
    expect(activated.recoveryCodes).toHaveLength(10);

    d.clock.advanceSeconds(30);
    const approval = await verifyCode(d, { appId, userId: "alice", code: codeAt(secret, d.clock.now()) });
    expect(approval).toMatchObject({ status: "approved", method: "totp" });
    // the start (epoch seconds) of the accepted step
    expect((await d.userState(appId, "alice"))?.totpAt).toBe(stepOf(d) * 30);
  });

  it("accepts a code at most once, and not an older step after a newer one was used", async () => {
    const { d, appId, enrolled, secret } = await aliceWithTotp();
    await activateFactor(d, {
      appId,
      userId: "alice",
      factorId: enrolled.factor.factorId,
      code: codeAt(secret, d.clock.now()),
    });
    d.clock.advanceSeconds(60);
    const previous = codeAt(secret, d.clock.now() - 30_000);
    const current = codeAt(secret, d.clock.now());
    await verifyCode(d, { appId, userId: "alice", code: current });

    // refused as invalid_code, but not counted: whoever sends it knew the code (a double submit or a replay)
    const replay = await domainError(verifyCode(d, { appId, userId: "alice", code: current }));
    expect(replay).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: 3 } });
    if (previous !== current) {
      const older = await domainError(verifyCode(d, { appId, userId: "alice", code: previous }));
      expect(older).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: 3 } });
    }
    expect((await d.userState(appId, "alice"))?.attempts ?? 0).toBe(0);
  });

  it("accepts one step either side by default, not two", async () => {
    const { d, appId, enrolled, secret } = await aliceWithTotp();
    await activateFactor(d, {
      appId,
      userId: "alice",
      factorId: enrolled.factor.factorId,
      code: codeAt(secret, d.clock.now()),
    });
    d.clock.advanceSeconds(300);
    const twoAhead = codeAt(secret, d.clock.now() + 60_000);
    const oneAhead = codeAt(secret, d.clock.now() + 30_000);
    if (twoAhead !== oneAhead && twoAhead !== codeAt(secret, d.clock.now())) {
      expect((await domainError(verifyCode(d, { appId, userId: "alice", code: twoAhead }))).code).toBe(
        "invalid_code",
      );
    }
    expect((await verifyCode(d, { appId, userId: "alice", code: oneAhead })).method).toBe("totp");
  });

  it("a wrong activation code counts as a wrong code", async () => {
    const { d, appId, enrolled, secret } = await aliceWithTotp();
    const right = codeAt(secret, d.clock.now());
    const wrong = right === "000000" ? "111111" : "000000";
    const error = await domainError(
      activateFactor(d, { appId, userId: "alice", factorId: enrolled.factor.factorId, code: wrong }),
    );
    expect(error).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: 2 } });
  });

  it("answers challenge_not_found to a bare numeric code when the user has no authenticator app", async () => {
    const d = await testDeps();
    const { appId } = await d.createApp("Acme");
    await d.enrollActive({ appId, userId: "bob", type: "email", email: "bob@example.com" });
    const error = await domainError(verifyCode(d, { appId, userId: "bob", code: "123456" }));
    expect(error.code).toBe("challenge_not_found");
  });
});
