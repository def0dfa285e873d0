import type { AppConfig } from "#core/config";
import type { Delivery, OutgoingSms, Secrets, SmsProvider, VerificationProvider } from "#core/ports";
import type { Outbox, OutboxVerification } from "./outbox.ts";

// The local stack offers these under the names `twilio` and `sinch`: the real adapter once the
// app's secret for it is saved, the outbox until then, so `npm start` works with no credentials.
// Which of them an app uses is chosen by the registry, like everywhere else.

/** Which secret an app's config names for the provider (`secretNameIn` of its secret spec). */
export interface SecretNaming {
  secretNameIn(config: AppConfig): string;
}

const hasSecret = async (secrets: Secrets, name: string): Promise<boolean> =>
  (await secrets.providerSecret(name)) !== undefined;

/** A message provider (Twilio), or the outbox while its secret is not set. */
export class OutboxUntilSecret implements SmsProvider {
  readonly kind = "message";

  constructor(
    private readonly parts: { secrets: Secrets; secret: SecretNaming; provider: SmsProvider; outbox: Outbox },
  ) {}

  async sendSms(message: OutgoingSms, config: AppConfig): Promise<Delivery> {
    const { secrets, secret, provider, outbox } = this.parts;
    return (await hasSecret(secrets, secret.secretNameIn(config)))
      ? provider.sendSms(message, config)
      : outbox.sendSms(message);
  }
}

/** A verification provider (Sinch), or the outbox's own verifications while its secret is not set. */
export class OutboxVerificationUntilSecret implements VerificationProvider {
  readonly kind = "verification";

  constructor(
    private readonly parts: {
      secrets: Secrets;
      secret: SecretNaming;
      provider: VerificationProvider;
      outbox: OutboxVerification;
    },
  ) {}

  async start(
    input: { to: string; locale?: string; expirySeconds: number; reference: string },
    config: AppConfig,
  ): Promise<{ verificationId: string; provider: string }> {
    const { secrets, secret, provider, outbox } = this.parts;
    return (await hasSecret(secrets, secret.secretNameIn(config)))
      ? provider.start(input, config)
      : outbox.start(input, config);
  }

  report(
    verificationId: string,
    code: string,
    config: AppConfig,
  ): Promise<"approved" | "wrong_code" | "expired"> {
    return this.parts.outbox.owns(verificationId)
      ? this.parts.outbox.report(verificationId, code)
      : this.parts.provider.report(verificationId, code, config);
  }
}
