import { ProviderError } from "#core/errors";
import type { Delivery, EmailProvider, SmsProvider, VerificationProvider } from "#core/ports";

/**
 * A channel this function or deployment cannot use (e.g. `sms.provider: local` in the cloud,
 * or email in the verify function, which sends nothing): every send is refused, so fallback applies.
 */
export class Unconfigured implements SmsProvider, VerificationProvider, EmailProvider {
  async sendSms(): Promise<Delivery> {
    throw refusal("sms");
  }

  async sendEmail(): Promise<Delivery> {
    throw refusal("email");
  }

  async start(): Promise<never> {
    throw refusal("sms");
  }

  async report(): Promise<never> {
    throw refusal("sms");
  }
}

const refusal = (channel: string): ProviderError =>
  new ProviderError(channel, "not_configured", `no ${channel} provider is configured here`, "not_configured");
