import { ProviderError } from "#core/errors";
import type { Delivery, EmailProvider, SmsProvider, VerificationProvider } from "#core/ports";

// Stand-ins for what an app's config names but this function or deployment does not offer (e.g.
// `sms.provider: local` in the cloud, or email in the verify function, which sends nothing): every
// call is refused as not configured, so the fallback channel applies.

const refusal = (channel: "sms" | "email", name: string): ProviderError =>
  new ProviderError(
    channel,
    "not_configured",
    `the ${channel} provider "${name}" is not available here`,
    "not_configured",
  );

export class UnconfiguredSms implements SmsProvider {
  readonly kind = "message";

  constructor(private readonly name: string) {}

  async sendSms(): Promise<Delivery> {
    throw refusal("sms", this.name);
  }
}

export class UnconfiguredVerification implements VerificationProvider {
  readonly kind = "verification";

  constructor(private readonly name: string) {}

  async start(): Promise<never> {
    throw refusal("sms", this.name);
  }

  async report(): Promise<never> {
    throw refusal("sms", this.name);
  }
}

export class UnconfiguredEmail implements EmailProvider {
  constructor(private readonly name: string) {}

  async sendEmail(): Promise<Delivery> {
    throw refusal("email", this.name);
  }
}
