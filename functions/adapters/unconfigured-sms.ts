import { ProviderError } from "#core/errors";
import type { Delivery, SmsProvider } from "#core/ports";

/** Where no SMS provider can run (e.g. `sms.provider: local` in the cloud): every send is refused, so fallback applies. */
export class UnconfiguredSms implements SmsProvider {
  async sendSms(): Promise<Delivery> {
    throw new ProviderError(
      "sms",
      "not_configured",
      "no SMS provider is configured for this deployment",
      "not_configured",
    );
  }
}
