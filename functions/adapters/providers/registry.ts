import type { AppConfig } from "#core/config";
import type { DeliverySetup, Deps, EmailProvider, SmsProvider, VerificationProvider } from "#core/ports";
import { UnconfiguredEmail, UnconfiguredSms, UnconfiguredVerification } from "./unconfigured.ts";

export type SmsProviderName = AppConfig["sms"]["provider"];
export type EmailProviderName = AppConfig["email"]["provider"];

/**
 * The providers a composition root offers, under the name an app's config selects each by.
 * Every Lambda offers only those it uses, so its bundle holds no other (verify offers Sinch
 * alone: no SES, no Twilio).
 */
export interface OfferedProviders {
  sms?: Partial<Record<SmsProviderName, SmsProvider | VerificationProvider>>;
  email?: Partial<Record<EmailProviderName, EmailProvider>>;
}

export type ChosenProviders = Pick<Deps, "sms" | "smsVerification" | "email">;

/**
 * THE provider choice: nothing else reads `sms.provider` or `email.provider`. The app's config
 * names a provider; one this function does not offer refuses (not configured), so fallback applies.
 */
export function chooseProviders(offered: OfferedProviders): ChosenProviders {
  const sms = offered.sms ?? {};
  const email = offered.email ?? {};
  // A code made by a verification provider is checked by it even after the app moved to another
  // provider; only one kind of verification provider (Sinch) exists.
  const verifier = Object.values(sms).find((p) => p.kind === "verification");
  return {
    sms: (config) => sms[config.sms.provider] ?? new UnconfiguredSms(config.sms.provider),
    smsVerification: (config) => {
      const chosen = sms[config.sms.provider];
      if (chosen?.kind === "verification") return chosen;
      return verifier?.kind === "verification" ? verifier : new UnconfiguredVerification(config.sms.provider);
    },
    email: (config) => email[config.email.provider] ?? new UnconfiguredEmail(config.email.provider),
  };
}

/** The names a composition root offers, for the doctor route (an app naming another one cannot deliver). */
export const offeredNames = (offered: OfferedProviders): DeliverySetup["offered"] => ({
  sms: Object.keys(offered.sms ?? {}),
  email: Object.keys(offered.email ?? {}),
});
