import type { AppConfig } from "#core/config";
import type { Delivery, OutgoingSms, Secrets, SmsProvider, VerificationProvider } from "#core/ports";
import type { Outbox, OutboxVerification } from "./outbox.ts";

/**
 * The local stack's SMS: the real Twilio or Sinch adapter once credentials for the app's
 * configured provider are saved, the outbox otherwise, so `npm start` works with none.
 */
export class LocalSmsRouter implements SmsProvider, VerificationProvider {
  constructor(
    private readonly parts: {
      secrets: Secrets;
      outbox: Outbox;
      outboxVerification: OutboxVerification;
      twilio: SmsProvider;
      sinch: VerificationProvider;
    },
  ) {}

  async sendSms(message: OutgoingSms, config: AppConfig): Promise<Delivery> {
    const useTwilio = config.sms.provider === "twilio" && (await this.hasSecret(config.sms.secretName));
    return useTwilio ? this.parts.twilio.sendSms(message, config) : this.parts.outbox.sendSms(message);
  }

  async start(
    input: { to: string; locale?: string; expirySeconds: number; reference: string },
    config: AppConfig,
  ): Promise<{ verificationId: string; provider: string }> {
    return (await this.hasSecret(config.sms.sinch.secretName))
      ? this.parts.sinch.start(input, config)
      : this.parts.outboxVerification.start(input, config);
  }

  report(
    verificationId: string,
    code: string,
    config: AppConfig,
  ): Promise<"approved" | "wrong_code" | "expired"> {
    return verificationId.startsWith("local-")
      ? this.parts.outboxVerification.report(verificationId, code)
      : this.parts.sinch.report(verificationId, code, config);
  }

  private async hasSecret(name: string): Promise<boolean> {
    return (await this.parts.secrets.providerSecret(name)) !== undefined;
  }
}
