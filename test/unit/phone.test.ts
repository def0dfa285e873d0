import { describe, expect, it } from "vitest";
import { type AppConfig, defaultAppConfig } from "#core/config";
import { parseEmail } from "#core/email";
import { DomainError } from "#core/errors";
import { parsePhone } from "#core/phone";

const withSms = (sms: Partial<AppConfig["sms"]>): AppConfig => {
  const base = defaultAppConfig("Acme");
  return { ...base, sms: { ...base.sms, ...sms } };
};

const failure = async (run: () => Promise<unknown>): Promise<DomainError> => {
  try {
    await run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError");
};

describe("parsePhone", () => {
  it("keeps an international number and masks it", async () => {
    expect(await parsePhone("+14155550123", withSms({}))).toEqual({
      e164: "+14155550123",
      country: "US",
      masked: "+1******0123",
    });
  });

  it("gives a national number the app's sms.defaultCountryCode", async () => {
    expect((await parsePhone("(415) 555-0123", withSms({ defaultCountryCode: "+1" }))).e164).toBe(
      "+14155550123",
    );
    const uk = await parsePhone("07400 123456", withSms({ defaultCountryCode: "+44" }));
    expect(uk).toEqual({ e164: "+447400123456", country: "GB", masked: "+44******3456" });
  });

  it("reads a 00 international prefix", async () => {
    expect((await parsePhone("00447400123456", withSms({}))).e164).toBe("+447400123456");
  });

  it("answers invalid_phone for a number that is not in the numbering plan", async () => {
    for (const input of ["12345", "not a phone", "+1415555", "+999123456789", ""]) {
      const error = await failure(() => parsePhone(input, withSms({})));
      expect(error.code).toBe("invalid_phone");
      expect(error.extras.errors).toEqual([{ path: "phone", message: expect.any(String) }]);
    }
  });

  it("answers country_not_allowed for a country outside sms.allowedCountries", async () => {
    const config = withSms({ allowedCountries: ["US", "CA"] });
    expect((await parsePhone("+14155550123", config)).country).toBe("US");
    expect((await failure(() => parsePhone("+447400123456", config))).code).toBe("country_not_allowed");
    const uk = { ...config, sms: { ...config.sms, defaultCountryCode: "+44" } };
    expect((await failure(() => parsePhone("07400 123456", uk))).code).toBe("country_not_allowed");
  });

  it("decides by the number's real region, not its dialing code", async () => {
    // +44 7911 12xxxx is a Guernsey (GG) range: allowing GB does not allow it.
    const config = withSms({ allowedCountries: ["GB"] });
    expect((await parsePhone("+447400123456", config)).country).toBe("GB");
    expect((await failure(() => parsePhone("+447911123456", config))).code).toBe("country_not_allowed");
  });

  it("allows every country with *", async () => {
    expect((await parsePhone("+447400123456", withSms({ allowedCountries: ["*"] }))).country).toBe("GB");
  });
});

describe("parseEmail", () => {
  it("trims and masks a valid address", () => {
    expect(parseEmail("  alice@example.com ")).toEqual({
      address: "alice@example.com",
      masked: "a***@example.com",
    });
  });

  it("answers invalid_email otherwise", async () => {
    for (const input of [
      "alice",
      "alice@",
      "@example.com",
      "a b@example.com",
      `${"a".repeat(250)}@example.com`,
    ]) {
      expect((await failure(async () => parseEmail(input))).code).toBe("invalid_email");
    }
  });
});
