import type { AppConfig } from "./config.ts";
import { DomainError } from "./errors.ts";
import { maskPhone } from "./mask.ts";

// Loaded by the first number parsed, not at import: 190 KiB of numbering plans that verify never needs,
// and send only for a factor enrolled before its country was kept (the build puts it in its own chunk).
// A failed import is not kept: the next number tries again.
let library: Promise<typeof import("libphonenumber-js/max")> | undefined;
const numberingPlans = () =>
  (library ??= import("libphonenumber-js/max").catch((error: unknown) => {
    library = undefined;
    throw error;
  }));

export interface ParsedPhone {
  e164: string;
  country: string | undefined;
  masked: string;
}

/**
 * National numbers take the app's default dialing code. Uses libphonenumber-js's full
 * metadata so a number is checked against the real numbering plan, not only its length.
 */
export async function parsePhone(input: string, config: AppConfig): Promise<ParsedPhone> {
  const { parsePhoneNumberFromString } = await numberingPlans();
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

/** The country that owns an E.164 number, if any. */
export const countryOf = async (e164: string): Promise<string | undefined> =>
  (await numberingPlans()).parsePhoneNumberFromString(e164)?.country;
