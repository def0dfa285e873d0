import { describe, expect, it } from "vitest";
import { activateFactor } from "#core/use-cases/activate-factor";
import { listFactors } from "#core/use-cases/list-factors";
import { disableMfa, removeFactor } from "#core/use-cases/manage-mfa";
import { domainError, enrollWithCode, testDeps } from "../../../support/deps.ts";
import { SoftAuthenticator } from "../../../support/soft-authenticator.ts";
import { enrollKey, ORIGIN, RP_ID, registerKey, webauthnApp } from "../../../support/webauthn.ts";

describe("enrolling a security key", () => {
  it("is refused with webauthn_not_configured while the app has no rpId", async () => {
    const d = await testDeps();
    const { appId } = await d.createApp("Acme");
    const error = await domainError(enrollKey(d, appId, "alice"));
    expect(error.code).toBe("webauthn_not_configured");
  });

  it("returns creationOptions for the app's relying party with a fresh 32-byte challenge", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d, (w) => {
      w.userVerification = "required";
      w.rpName = "Acme Login";
    });
    const { factor, creationOptions } = await enrollKey(d, appId, "alice", "YubiKey 5C");
    expect(factor).toMatchObject({ type: "webauthn", destination: "YubiKey 5C" });
    expect(creationOptions.rp).toEqual({ id: RP_ID, name: "Acme Login" });
    expect(Buffer.from(creationOptions.challenge, "base64url")).toHaveLength(32);
    expect(creationOptions.authenticatorSelection?.userVerification).toBe("required");
    expect(creationOptions.attestation).toBe("none");
    expect(creationOptions.timeout).toBe(300_000);
    expect(creationOptions.excludeCredentials).toEqual([]);
    expect(creationOptions.pubKeyCredParams.map((p) => p.alg)).toEqual([-8, -7, -257]);
    // the user handle is opaque: not the user id
    expect(Buffer.from(creationOptions.user.id, "base64url").toString()).not.toContain("alice");
    const again = await enrollKey(d, appId, "alice");
    expect(again.creationOptions.challenge).not.toBe(creationOptions.challenge);
    expect(d.outbox).toEqual([]);
  });

  it("lists the user's registered keys in excludeCredentials", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d);
    const { key } = await registerKey(d, appId, "alice");
    await d.stepUp(appId, "alice");
    const { creationOptions } = await enrollKey(d, appId, "alice");
    expect(creationOptions.excludeCredentials).toEqual([
      { id: key.id, type: "public-key", transports: ["usb"] },
    ]);
  });
});

describe("activating a security key", () => {
  it.each(["ES256", "RS256"] as const)(
    "verifies a %s registration: active, MFA on, recovery codes",
    async (alg) => {
      const d = await testDeps();
      const appId = await webauthnApp(d);
      const { factorId, recoveryCodes } = await registerKey(d, appId, "alice", { alg });
      expect(recoveryCodes).toHaveLength(10);
      const list = await listFactors(d, { appId, userId: "alice" });
      expect(list.enabled).toBe(true);
      expect(list.factors).toEqual([
        expect.objectContaining({
          factorId,
          type: "webauthn",
          status: "active",
          destination: "Security key",
          lastUsedAt: d.clock.now(),
          details: {
            label: "Security key",
            transports: ["usb"],
            backupEligible: false,
            backedUp: false,
            signCount: 0,
          },
        }),
      ]);
    },
  );

  it("shows a synced passkey's backup flags", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d);
    await registerKey(d, appId, "alice", { backedUp: true, transports: ["internal", "hybrid", "bogus"] });
    const [view] = (await listFactors(d, { appId, userId: "alice" })).factors;
    expect(view?.details).toMatchObject({
      backupEligible: true,
      backedUp: true,
      transports: ["internal", "hybrid"],
    });
  });

  const refusals: Array<[string, Parameters<SoftAuthenticator["register"]>[1]]> = [
    ["a wrong origin", { origin: "https://evil.example.net" }],
    ["a wrong rpIdHash", { rpId: "evil.example.net" }],
    ["another challenge", { challenge: Buffer.alloc(32, 7).toString("base64url") }],
    ["no user presence", { userPresent: false }],
    ["an assertion's client data type", { type: "webauthn.get" }],
  ];
  it.each(refusals)("refuses %s with 422 invalid_credential, not counted", async (_, ceremony) => {
    const d = await testDeps();
    const appId = await webauthnApp(d);
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const { factor, creationOptions } = await enrollKey(d, appId, "alice");
    const error = await domainError(
      activateFactor(d, {
        appId,
        userId: "alice",
        factorId: factor.factorId,
        credential: key.register(creationOptions, ceremony),
      }),
    );
    expect(error.code).toBe("invalid_credential");
    expect((await d.userState(appId, "alice"))?.attempts ?? 0).toBe(0);
    expect((await listFactors(d, { appId, userId: "alice" })).enabled).toBe(false);
  });

  it("refuses a key without user verification when the app requires it", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d, (w) => {
      w.userVerification = "required";
    });
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const { factor, creationOptions } = await enrollKey(d, appId, "alice");
    const credential = key.register(creationOptions, { userVerified: false });
    const error = await domainError(
      activateFactor(d, { appId, userId: "alice", factorId: factor.factorId, credential }),
    );
    expect(error.code).toBe("invalid_credential");
  });

  it("refuses a `none` attestation when the app asks for direct attestation", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d, (w) => {
      w.attestation = "direct";
    });
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const { factor, creationOptions } = await enrollKey(d, appId, "alice");
    expect(creationOptions.attestation).toBe("direct");
    const credential = key.register(creationOptions);
    const error = await domainError(
      activateFactor(d, { appId, userId: "alice", factorId: factor.factorId, credential }),
    );
    expect(error.code).toBe("invalid_credential");
  });

  it("refuses a registration whose challenge expired (code.ttlSeconds) with 410", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d);
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const { factor, creationOptions } = await enrollKey(d, appId, "alice");
    d.clock.advanceSeconds(301);
    const credential = key.register(creationOptions);
    const error = await domainError(
      activateFactor(d, { appId, userId: "alice", factorId: factor.factorId, credential }),
    );
    expect(error.code).toBe("code_expired");
  });

  it("refuses a code for a key, a credential for a code factor, and a body that is not a registration", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d);
    const { factor } = await enrollKey(d, appId, "alice");
    const withCode = await domainError(
      activateFactor(d, { appId, userId: "alice", factorId: factor.factorId, code: "123456" }),
    );
    expect(withCode.code).toBe("invalid_request");
    const junk = await domainError(
      activateFactor(d, {
        appId,
        userId: "alice",
        factorId: factor.factorId,
        credential: { id: "x", response: 5 },
      }),
    );
    expect(junk.code).toBe("invalid_credential");
    const email = await enrollWithCode(d, { appId, userId: "bob", type: "email", email: "b@example.com" });
    const onEmail = await domainError(
      activateFactor(d, { appId, userId: "bob", factorId: email.factor.factorId, credential: { id: "x" } }),
    );
    expect(onEmail.code).toBe("invalid_request");
    expect((await d.userState(appId, "bob"))?.attempts ?? 0).toBe(0);
  });

  it("refuses a registration sent again after it activated its factor (a replay) with 422", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d);
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const { factor, creationOptions } = await enrollKey(d, appId, "alice");
    const credential = key.register(creationOptions);
    await activateFactor(d, { appId, userId: "alice", factorId: factor.factorId, credential });
    const replay = await domainError(
      activateFactor(d, { appId, userId: "alice", factorId: factor.factorId, credential }),
    );
    expect(replay.code).toBe("invalid_credential");
  });

  it("registers the same key once: a replayed registration for a later enrollment is refused", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d);
    const { key } = await registerKey(d, appId, "alice");
    await d.stepUp(appId, "alice");
    const { factor, creationOptions } = await enrollKey(d, appId, "alice");
    const error = await domainError(
      activateFactor(d, {
        appId,
        userId: "alice",
        factorId: factor.factorId,
        credential: key.register(creationOptions),
      }),
    );
    expect(error.code).toBe("invalid_credential");
  });

  it("allows ten active keys per user; the eleventh enrollment answers 409 factor_exists", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d);
    for (let i = 0; i < 10; i++) await registerKey(d, appId, "alice");
    const list = await listFactors(d, { appId, userId: "alice" });
    expect(list.factors.filter((f) => f.status === "active")).toHaveLength(10);
    await d.stepUp(appId, "alice");
    expect((await domainError(enrollKey(d, appId, "alice"))).code).toBe("factor_exists");
  });
});

describe("removing security keys", () => {
  it("removes one key with step-up, and MFA off removes every key", async () => {
    const d = await testDeps();
    const appId = await webauthnApp(d);
    const first = await registerKey(d, appId, "alice");
    await registerKey(d, appId, "alice");
    await registerKey(d, appId, "alice");
    d.clock.advanceSeconds(301);
    expect(
      (await domainError(removeFactor(d, { appId, userId: "alice", factorId: first.factorId }))).code,
    ).toBe("step_up_required");
    await d.stepUp(appId, "alice");
    await removeFactor(d, { appId, userId: "alice", factorId: first.factorId });
    expect((await listFactors(d, { appId, userId: "alice" })).factors).toHaveLength(2);
    await disableMfa(d, { appId, userId: "alice" });
    const after = await listFactors(d, { appId, userId: "alice" });
    expect(after).toMatchObject({ enabled: false, factors: [] });
  });
});
