import { describe, expect, it } from "vitest";
import { chooseProviders } from "#adapters/providers/registry";
import { type AppConfig, type AppConfigInput, appConfigSchema } from "#core/config";
import { ProviderError } from "#core/errors";
import type { Delivery, EmailProvider, SmsProvider, VerificationProvider } from "#core/ports";

const config = (input: AppConfigInput = {}): AppConfig => appConfigSchema.parse(input);

const message = (name: string): SmsProvider => ({
  kind: "message",
  sendSms: async (): Promise<Delivery> => ({ provider: name, providerMessageId: "m1" }),
});
const verification = (name: string): VerificationProvider => ({
  kind: "verification",
  start: async () => ({ verificationId: "v1", provider: name }),
  report: async () => "approved",
});
const email = (name: string): EmailProvider => ({
  sendEmail: async () => ({ provider: name, providerMessageId: "e1" }),
});

async function refusal(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe("the provider choice", () => {
  const twilio = message("twilio");
  const sinch = verification("sinch");
  const outbox = message("local");
  const ses = email("ses");
  const chosen = chooseProviders({ sms: { twilio, sinch, local: outbox }, email: { ses } });

  it("gives the sms provider the app's config names, whatever its kind", () => {
    expect(chosen.sms(config({ sms: { provider: "twilio" } }))).toBe(twilio);
    expect(chosen.sms(config({ sms: { provider: "sinch" } }))).toBe(sinch);
    expect(chosen.sms(config({ sms: { provider: "local" } }))).toBe(outbox);
    expect(chosen.sms(config({ sms: { provider: "sinch" } })).kind).toBe("verification");
  });

  it("checks provider-made codes with the verification provider, also after the app moved away from it", () => {
    expect(chosen.smsVerification(config({ sms: { provider: "sinch" } }))).toBe(sinch);
    expect(chosen.smsVerification(config({ sms: { provider: "twilio" } }))).toBe(sinch);
  });

  it("gives the email provider the app's config names", () => {
    expect(chosen.email(config({ email: { provider: "ses" } }))).toBe(ses);
  });

  it("a provider the function does not offer refuses as not configured, so fallback applies", async () => {
    // What the verify function offers: Sinch only (its bundle holds no Twilio and no SES).
    const verifyOnly = chooseProviders({ sms: { sinch } });
    const twilioApp = config({ sms: { provider: "twilio" } });
    const sms = verifyOnly.sms(twilioApp);
    expect(sms.kind).toBe("message");
    if (sms.kind !== "message") throw new Error("unreachable");
    expect(await refusal(sms.sendSms({ to: "+14155550123", body: "x" }, twilioApp))).toMatchObject({
      provider: "sms",
      providerCode: "not_configured",
      kind: "not_configured",
    });
    expect(verifyOnly.smsVerification(twilioApp)).toBe(sinch);
    const mail = verifyOnly.email(config());
    expect(
      await refusal(
        mail.sendEmail({
          to: "a@example.com",
          fromAddress: "no-reply@example.com",
          fromName: "x",
          subject: "s",
          text: "t",
          html: "h",
          configurationSet: null,
        }),
      ),
    ).toMatchObject({ provider: "email", kind: "not_configured" });
    // `local` means the outbox on this machine: the cloud offers none.
    expect(
      await refusal(chosen.email(config({ email: { provider: "local" } })).sendEmail({} as never)),
    ).toMatchObject({
      kind: "not_configured",
    });
  });

  it("without any verification provider, checking a provider-made code refuses", async () => {
    const none = chooseProviders({ sms: { twilio } });
    const checker = none.smsVerification(config());
    expect(checker.kind).toBe("verification");
    expect(await refusal(checker.report("v1", "123456", config()))).toMatchObject({ kind: "not_configured" });
  });
});
