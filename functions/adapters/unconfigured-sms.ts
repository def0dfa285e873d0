import { ProviderError } from "#core/errors";
import type { Delivery, SmsProvider, VerificationProvider } from "#core/ports";

/** Where no SMS provider can run (e.g. `sms.provider: local` in the cloud): every send is refused, so fallback applies. */
export class UnconfiguredSms implements SmsProvider, VerificationProvider {
  async sendSms(): Promise<Delivery> {
    throw refusal();
  }

  async start(): Promise<never> {
    throw refusal();
  }

  async report(): Promise<never> {
    throw refusal();
  }
}

const refusal = (): ProviderError =>
  new ProviderError(
    "sms",
    "not_configured",
    "no SMS provider is configured for this deployment",
    "not_configured",
  );
