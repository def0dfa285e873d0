import { describe, expect, it } from "vitest";
import { isCountryCode, parseAppConfig } from "#core/config";

describe("country codes in the config", () => {
  it("accepts real ISO 3166 alpha-2 countries and refuses look-alikes", () => {
    for (const code of ["US", "CA", "GB", "IN", "BR", "XK", "NZ"]) expect(isCountryCode(code)).toBe(true);
    for (const code of ["ZZ", "QQ", "AA", "EU", "UN", "us", "USA", ""])
      expect(isCountryCode(code)).toBe(false);
  });

  it("reports an unknown country at its path in allowedCountries and senders", () => {
    const parsed = parseAppConfig({
      sms: { allowedCountries: ["US", "ZZ"], senders: [{ number: "+14155550100", countries: ["QQ"] }] },
    });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.errors.map((e) => e.path).sort()).toEqual([
        "sms.allowedCountries.1",
        "sms.senders.0.countries.0",
      ]);
    }
  });
});
