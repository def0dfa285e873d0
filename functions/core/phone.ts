import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import type { AppConfig } from "./config.ts";
import { DomainError } from "./errors.ts";
import { maskPhone } from "./mask.ts";

export interface ParsedPhone {
  e164: string;
  country: string | undefined;
  masked: string;
}

/**
 * National numbers take the app's default dialing code. Uses libphonenumber-js's full
 * metadata so a number is checked against the real numbering plan, not only its length.
 */
export function parsePhone(input: string, config: AppConfig): ParsedPhone {
  const raw = input.trim().replace(/^00/, "+");
  const parsed = parsePhoneNumberFromString(raw, {
    defaultCallingCode: config.sms.defaultCountryCode.slice(1),
  });
  if (!parsed?.isValid()) {
    throw new DomainError("invalid_phone", "The phone number is not valid.", {
      errors: [{ path: "phone", message: "not a valid phone number" }],
    });
  }
  const country = parsed.country;
  const allowed = config.sms.allowedCountries;
  if (!allowed.includes("*") && (!country || !allowed.includes(country))) {
    throw new DomainError(
      "country_not_allowed",
      `Numbers from ${country ?? "this region"} are not allowed.`,
      {
        errors: [{ path: "phone", message: "country not in sms.allowedCountries" }],
      },
    );
  }
  return { e164: parsed.number, country, masked: maskPhone(parsed.number, parsed.countryCallingCode) };
}

export const countryOf = (e164: string): string | undefined => parsePhoneNumberFromString(e164)?.country;
