import { channelSetupFault, fromAddressOf, notConfiguredDetail, setupFaultError } from "../delivery-setup.ts";
import { parseEmail } from "../email.ts";
import { DomainError, ProviderError } from "../errors.ts";
import { newId } from "../ids.ts";
import { parsePhone } from "../phone.ts";
import { PROVIDER_TIMEOUT_MS, withTimeout } from "../policy.ts";
import type { CodeChannel, Delivery, Deps } from "../ports.ts";
import { loadAppContext } from "./app-config.ts";

/**
 * Sends one test message with the app's saved configuration and secrets, so an admin sees
 * at once whether delivery works, and if not, the provider's own error code and message.
 */
export async function sendTestMessage(
  deps: Deps,
  input: { appId: string; channel: CodeChannel; to: string },
): Promise<Delivery> {
  const { app, config } = await loadAppContext(deps, input.appId);
  const name = config.totp.issuer ?? app.name;
  const text = `This is a test message from ${name} (otp-service): delivery works.`;
  try {
    if (input.channel === "email") {
      const { address } = parseEmail(input.to);
      return await withTimeout(
        deps.email(config).sendEmail({
          to: address,
          fromAddress: fromAddressOf(config),
          fromName: config.email.fromName ?? app.name,
          subject: `Test message from ${name}`,
          text,
          html: `<p>${text.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</p>`,
          configurationSet: config.email.configurationSet,
        }),
        PROVIDER_TIMEOUT_MS,
        "email",
      );
    }
    const { e164 } = await parsePhone(input.to, config);
    const fault = channelSetupFault(config, "sms");
    if (fault) throw setupFaultError(config, fault);
    const sms = deps.sms(config);
    if (sms.kind === "verification") {
      // A verification API (Sinch) sends only its own codes: the test starts a verification.
      const started = await withTimeout(
        sms.start({ to: e164, expirySeconds: config.code.ttlSeconds, reference: newId("test") }, config),
        PROVIDER_TIMEOUT_MS,
        "sms",
      );
      return { provider: started.provider, providerMessageId: started.verificationId };
    }
    return await withTimeout(sms.sendSms({ to: e164, body: text }, config), PROVIDER_TIMEOUT_MS, "sms");
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    const detail =
      error.kind === "not_configured"
        ? notConfiguredDetail(input.appId, [`${input.channel}: ${error.message}`])
        : "The provider did not accept the test message.";
    throw new DomainError("delivery_failed", detail, {
      provider: error.provider,
      providerCode: error.providerCode,
      providerMessage: error.message,
    });
  }
}
