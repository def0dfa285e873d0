import { describe, expect, it } from "vitest";
import { providerSecretSchemas } from "#adapters/providers/secret-schemas";
import { type AppConfig, defaultAppConfig } from "#core/config";
import { channelSetupFault } from "#core/delivery-setup";
import { type DoctorFacts, diagnose, diagnoseInvalidConfig, type SecretFact } from "#core/doctor";
import type { DeliverySetup } from "#core/ports";
import { diagnoseApp } from "#core/use-cases/doctor";
import { domainError, TEST_FROM_ADDRESS, testDeps } from "../support/deps.ts";

const APP = "app_shop";
const CLOUD = { sms: ["twilio", "sinch"], email: ["ses"] };

const twilioSecret = (state: SecretFact["state"] = "set"): SecretFact =>
  state === "invalid"
    ? { provider: "twilio", name: "twilio", path: "sms.secretName", state, problems: ["authToken"] }
    : { provider: "twilio", name: "twilio", path: "sms.secretName", state };

/** A deployment where everything the app needs is in place. */
const allGood = (): DoctorFacts => ({
  offered: CLOUD,
  emailIdentity: { status: "verified", identity: "shop.example" },
  emailSandbox: { sandbox: false },
  secrets: [twilioSecret()],
});

/** A new app's config with `change` applied. */
function config(change: (c: AppConfig) => void = () => {}): AppConfig {
  const c = defaultAppConfig("Shop");
  change(c);
  return c;
}

/** The app an admin finished: a from-address of a verified domain and a Twilio sender. */
const ready = (): AppConfig =>
  config((c) => {
    c.email.fromAddress = "no-reply@shop.example";
    c.sms.defaultSender = "+14155550111";
  });

const check = (report: ReturnType<typeof diagnose>, id: string) => {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id} in ${report.checks.map((c) => c.id).join(", ")}`);
  return found;
};

describe("the doctor rule", () => {
  it("reports every check in a stable order, each with a detail, and ready when all pass", () => {
    const report = diagnose(APP, ready(), allGood());
    expect(report.checks.map((c) => c.id)).toEqual([
      "email.provider",
      "email.from_address",
      "email.identity",
      "email.sandbox",
      "sms.provider",
      "sms.sender",
      "secret.twilio",
      "webauthn.origins",
    ]);
    expect(report.checks.every((c) => c.ok && c.detail.length > 0 && c.fix === undefined)).toBe(true);
    expect(report.ready).toBe(true);
  });

  it("a new app is not ready: no from-address and no sender, each with the command that sets it", () => {
    const report = diagnose(APP, config(), { ...allGood(), emailIdentity: undefined });
    expect(report.ready).toBe(false);
    expect(check(report, "email.from_address")).toMatchObject({
      ok: false,
      blocking: true,
      detail: expect.stringContaining("email.fromAddress is not set"),
      fix: `npm run admin -- config patch ${APP} --set 'email.fromAddress=no-reply@<your verified domain>'`,
    });
    expect(check(report, "email.identity")).toMatchObject({ ok: false, blocking: true });
    expect(check(report, "sms.sender")).toMatchObject({
      ok: false,
      blocking: true,
      detail: expect.stringContaining("no SMS sender is set"),
      fix: expect.stringContaining(`config patch ${APP} --set 'sms.defaultSender=`),
    });
  });

  it("the sender check and the send path agree: the same rule decides both", () => {
    expect(channelSetupFault(config(), "sms")?.path).toBe("sms.defaultSender");
    expect(channelSetupFault(config(), "email")?.path).toBe("email.fromAddress");
    expect(channelSetupFault(ready(), "sms")).toBeUndefined();
    expect(channelSetupFault(ready(), "email")).toBeUndefined();
    for (const set of [
      (c: AppConfig) => (c.sms.messagingServiceSid = `MG${"a".repeat(32)}`),
      (c: AppConfig) => (c.sms.senders = [{ number: "+447700900123", countries: ["GB"] }]),
    ]) {
      const withSender = config(set);
      expect(channelSetupFault(withSender, "sms")).toBeUndefined();
    }
    // Sinch sends from its own numbers, the outbox needs none.
    expect(
      channelSetupFault(
        config((c) => (c.sms.provider = "sinch")),
        "sms",
      ),
    ).toBeUndefined();
    expect(
      channelSetupFault(
        config((c) => (c.sms.provider = "local")),
        "sms",
      ),
    ).toBeUndefined();
  });

  it("a channel the policy does not use does not block, but is still reported", () => {
    const emailOnly = config((c) => {
      c.mfa.primaryMethod = "email";
      c.mfa.fallbackMethod = "none";
      c.email.fromAddress = "no-reply@shop.example";
    });
    const report = diagnose(APP, emailOnly, { ...allGood(), secrets: [twilioSecret("missing")] });
    expect(check(report, "sms.sender")).toMatchObject({ ok: false, blocking: false });
    expect(check(report, "sms.sender").detail).toContain("does not block");
    expect(check(report, "secret.twilio")).toMatchObject({ ok: false, blocking: false });
    expect(report.ready).toBe(true);

    // The fallback channel counts: sms primary with email fallback needs both.
    const noFrom = config((c) => (c.sms.defaultSender = "+14155550111"));
    expect(diagnose(APP, noFrom, allGood()).ready).toBe(false);
    const smsOnly = config((c) => {
      c.sms.defaultSender = "+14155550111";
      c.mfa.fallbackMethod = "none";
    });
    const smsReport = diagnose(APP, smsOnly, { ...allGood(), emailIdentity: undefined });
    expect(smsReport.ready).toBe(true);
    expect(check(smsReport, "email.from_address")).toMatchObject({ ok: false, blocking: false });
  });

  it("maps each SES identity state to ok, and names the identity and the fix", () => {
    const with_ = (fact: DoctorFacts["emailIdentity"]) =>
      check(diagnose(APP, ready(), { ...allGood(), emailIdentity: fact }), "email.identity");
    expect(with_({ status: "verified", identity: "no-reply@shop.example" })).toMatchObject({
      ok: true,
      detail: "SES identity no-reply@shop.example is verified for sending",
    });
    expect(with_({ status: "pending", identity: "shop.example" })).toMatchObject({
      ok: false,
      blocking: true,
      detail: expect.stringContaining("shop.example is not verified yet"),
      fix: expect.stringContaining("DKIM"),
    });
    expect(with_({ status: "failed", identity: "shop.example" })).toMatchObject({
      ok: false,
      fix: expect.stringContaining("create-email-identity --email-identity shop.example"),
    });
    expect(with_({ status: "not_found", identity: "shop.example" })).toMatchObject({
      ok: false,
      detail: expect.stringContaining("no identity for no-reply@shop.example or shop.example"),
      fix: expect.stringContaining("cdk deploy -c sesIdentity=shop.example"),
    });
    expect(with_({ status: "unknown", note: "could not be read: AccessDeniedException" })).toMatchObject({
      ok: false,
      detail: expect.stringContaining("AccessDeniedException"),
      fix: expect.stringContaining("ses:GetEmailIdentity"),
    });
    expect(diagnose(APP, ready(), { ...allGood(), emailIdentity: { status: "pending" } }).ready).toBe(false);
  });

  it("the SES sandbox warns, with the fix, but does not block", () => {
    const sandboxed = diagnose(APP, ready(), { ...allGood(), emailSandbox: { sandbox: true } });
    expect(check(sandboxed, "email.sandbox")).toMatchObject({
      ok: false,
      blocking: false,
      detail: expect.stringContaining("only verified recipients get mail"),
      fix: expect.stringContaining("request production access"),
    });
    expect(sandboxed.ready).toBe(true);
    const unknown = diagnose(APP, ready(), { ...allGood(), emailSandbox: { sandbox: "unknown", note: "x" } });
    expect(check(unknown, "email.sandbox")).toMatchObject({ ok: false, blocking: false });
    expect(check(unknown, "email.sandbox").fix).toContain("ses:GetAccount");
  });

  it("email through the local outbox needs neither an identity nor production access", () => {
    const local = config((c) => {
      c.email.provider = "local";
      c.email.fromAddress = "no-reply@shop.example";
      c.sms.defaultSender = "+14155550111";
    });
    const report = diagnose(APP, local, {
      ...allGood(),
      offered: { sms: ["twilio"], email: ["ses", "local"] },
      emailIdentity: undefined,
      emailSandbox: undefined,
    });
    expect(check(report, "email.identity").ok).toBe(true);
    expect(check(report, "email.sandbox").ok).toBe(true);
    expect(report.ready).toBe(true);
  });

  it("a provider the deployment does not offer blocks (local in the cloud)", () => {
    const local = config((c) => {
      c.email.provider = "local";
      c.email.fromAddress = "no-reply@shop.example";
      c.sms.provider = "local";
    });
    const report = diagnose(APP, local, { ...allGood(), secrets: [] });
    expect(check(report, "email.provider")).toMatchObject({
      ok: false,
      blocking: true,
      detail: expect.stringContaining(
        "email.provider local is not offered by this deployment (it offers ses)",
      ),
      fix: `npm run admin -- config patch ${APP} --set 'email.provider=ses'`,
    });
    expect(check(report, "sms.provider")).toMatchObject({
      ok: false,
      fix: expect.stringContaining("twilio"),
    });
    expect(report.ready).toBe(false);
  });

  it("reports each referenced secret: set, missing, invalid (by field), unreadable", () => {
    const secret = (fact: SecretFact) =>
      check(diagnose(APP, ready(), { ...allGood(), secrets: [fact] }), "secret.twilio");
    expect(secret(twilioSecret("set"))).toMatchObject({ ok: true });
    expect(secret(twilioSecret("missing"))).toMatchObject({
      ok: false,
      blocking: true,
      detail: 'the twilio secret "twilio" (sms.secretName) is not set',
      fix: "npm run admin -- secrets set twilio (or PUT /v1/admin/secrets/twilio)",
    });
    expect(secret(twilioSecret("invalid")).detail).toContain("does not fit its schema at authToken");
    expect(secret(twilioSecret("unreadable"))).toMatchObject({
      ok: false,
      detail: expect.stringContaining("could not be read"),
    });
    expect(diagnose(APP, ready(), { ...allGood(), secrets: [twilioSecret("missing")] }).ready).toBe(false);
    const sinch = diagnose(
      APP,
      config((c) => {
        c.sms.provider = "sinch";
        c.email.fromAddress = "no-reply@shop.example";
      }),
      {
        ...allGood(),
        secrets: [{ provider: "sinch", name: "sinch-eu", path: "sms.sinch.secretName", state: "missing" }],
      },
    );
    expect(check(sinch, "secret.sinch").fix).toContain("secrets set sinch-eu");
    expect(check(sinch, "sms.sender")).toMatchObject({ ok: true, detail: expect.stringContaining("Sinch") });
  });

  it("where SMS go to the outbox until the secret is set (the local stack), a missing secret is fine", () => {
    const local = diagnose(APP, ready(), {
      ...allGood(),
      outboxUntilSecret: true,
      secrets: [twilioSecret("missing")],
    });
    expect(check(local, "secret.twilio")).toMatchObject({
      ok: true,
      detail: expect.stringContaining("SMS go to the local outbox until it is"),
    });
    expect(local.ready).toBe(true);
    const invalid = diagnose(APP, ready(), {
      ...allGood(),
      outboxUntilSecret: true,
      secrets: [twilioSecret("invalid")],
    });
    expect(invalid.ready).toBe(false);
  });

  it("per-country senders that leave allowed countries without one warn; covering them all is ok", () => {
    const gbOnly = (allowed: string[]) =>
      config((c) => {
        c.email.fromAddress = "no-reply@shop.example";
        c.sms.senders = [{ number: "+447700900123", countries: ["GB"] }];
        c.sms.allowedCountries = allowed;
      });
    const anywhere = check(diagnose(APP, gbOnly(["*"]), allGood()), "sms.sender");
    expect(anywhere).toMatchObject({
      ok: false,
      blocking: false,
      detail: expect.stringContaining("SMS to other countries have no sender"),
    });
    const some = check(diagnose(APP, gbOnly(["GB", "IE"]), allGood()), "sms.sender");
    expect(some.detail).toContain("SMS to IE have no sender");
    expect(check(diagnose(APP, gbOnly(["GB"]), allGood()), "sms.sender")).toMatchObject({ ok: true });
    expect(diagnose(APP, gbOnly(["*"]), allGood()).ready).toBe(true);
  });

  it("WebAuthn: not set up is fine; set up lists its origins", () => {
    expect(check(diagnose(APP, ready(), allGood()), "webauthn.origins")).toMatchObject({
      ok: true,
      blocking: false,
      detail: expect.stringContaining("webauthn_not_configured"),
    });
    const withKeys = ready();
    withKeys.webauthn = {
      ...withKeys.webauthn,
      rpId: "shop.example",
      origins: ["https://login.shop.example"],
    };
    expect(check(diagnose(APP, withKeys, allGood()), "webauthn.origins")).toMatchObject({
      ok: true,
      blocking: true,
      detail: "WebAuthn for shop.example from https://login.shop.example",
    });
    withKeys.webauthn.origins = [];
    const broken = diagnose(APP, withKeys, allGood());
    expect(check(broken, "webauthn.origins")).toMatchObject({
      ok: false,
      fix: expect.stringContaining("webauthn.origins"),
    });
    expect(broken.ready).toBe(false);
  });

  it("a stored config that does not validate is one blocking check naming the paths", () => {
    expect(diagnoseInvalidConfig(APP, ["code.length", "sms.senders.0.number"])).toEqual({
      ready: false,
      checks: [
        {
          id: "config.valid",
          ok: false,
          blocking: true,
          detail: expect.stringContaining("code.length, sms.senders.0.number"),
          fix: expect.stringContaining(`config get ${APP}`),
        },
      ],
    });
  });
});

describe("diagnoseApp (the use case, on the real store)", () => {
  const setup = (facts: Partial<DeliverySetup> = {}): DeliverySetup => ({
    offered: CLOUD,
    emailIdentity: async (fromAddress) => ({ status: "verified", identity: fromAddress }),
    emailSandbox: async () => ({ sandbox: false }),
    ...facts,
  });

  it("a new app: not ready; once configured and its secret set: ready; 404 for an unknown app", async () => {
    const d = await testDeps();
    const { appId } = await d.createApp("Fresh", { unconfigured: true });
    const fresh = await diagnoseApp({ ...d, deliverySetup: setup() }, providerSecretSchemas, appId);
    expect(fresh.ready).toBe(false);
    expect(fresh.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual([
      "email.from_address",
      "email.identity",
      "sms.sender",
      "secret.twilio",
    ]);
    await d.configure(appId, (c) => {
      c.email.fromAddress = "no-reply@shop.example";
      c.sms.defaultSender = "+14155550111";
    });
    const noSecret = await diagnoseApp({ ...d, deliverySetup: setup() }, providerSecretSchemas, appId);
    expect(noSecret.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(["secret.twilio"]);
    await d.secrets.putProviderSecret("twilio", {
      accountSid: `AC${"0".repeat(32)}`,
      authToken: "x".repeat(32),
    });
    expect((await diagnoseApp({ ...d, deliverySetup: setup() }, providerSecretSchemas, appId)).ready).toBe(
      true,
    );
    expect(
      (await domainError(diagnoseApp({ ...d, deliverySetup: setup() }, providerSecretSchemas, "app_nope")))
        .code,
    ).toBe("app_not_found");
  });

  it("asks SES only for what the app uses, and a failing question is an unknown fact, not an error", async () => {
    const d = await testDeps();
    const { appId } = await d.createApp("Shop");
    const asked: string[] = [];
    const failing = setup({
      emailIdentity: async (fromAddress) => {
        asked.push(fromAddress);
        throw Object.assign(new Error("denied"), { name: "AccessDeniedException" });
      },
    });
    const report = await diagnoseApp({ ...d, deliverySetup: failing }, providerSecretSchemas, appId);
    expect(asked).toEqual([TEST_FROM_ADDRESS]);
    expect(report.checks.find((c) => c.id === "email.identity")).toMatchObject({
      ok: false,
      detail: expect.stringContaining("could not be read: AccessDeniedException"),
    });
    await d.configure(appId, (c) => {
      c.email.provider = "local";
    });
    asked.length = 0;
    await diagnoseApp(
      { ...d, deliverySetup: { ...failing, offered: { sms: ["twilio"], email: ["local"] } } },
      providerSecretSchemas,
      appId,
    );
    expect(asked).toEqual([]);
  });

  it("a secret of the wrong shape is named by field, never by value", async () => {
    const d = await testDeps();
    const { appId } = await d.createApp("Shop");
    await d.secrets.putProviderSecret("twilio", {
      accountSid: "ACnot-hex",
      authToken: "sekrit-token-value-123",
      extra: 1,
    });
    const report = await diagnoseApp({ ...d, deliverySetup: setup() }, providerSecretSchemas, appId);
    const secret = report.checks.find((c) => c.id === "secret.twilio");
    expect(secret).toMatchObject({
      ok: false,
      detail: expect.stringContaining("accountSid, extra (unknown field)"),
    });
    expect(JSON.stringify(report)).not.toContain("sekrit");
    expect(JSON.stringify(report)).not.toContain("ACnot-hex");
  });
});
