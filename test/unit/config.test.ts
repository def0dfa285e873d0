import { describe, expect, it } from "vitest";
import {
  appConfigSchema,
  defaultAppConfig,
  isSinchEndpointUrl,
  issuerOf,
  parseAppConfig,
  parseAppConfigDocument,
} from "#core/config";

/**
 * The "App configuration" block of API.md, transcribed (templates checked separately). A new
 * app has no from-address and no SMS sender: no made-up values that fail only at the provider.
 */
const API_DEFAULTS = {
  version: 1,
  mfa: { required: false, primaryMethod: "sms", fallbackMethod: "email", exemptUserIds: [] },
  code: { length: 6, ttlSeconds: 300 },
  limits: { maxCodeRequests: 5, requestTimeoutSeconds: 900, maxVerifyAttempts: 3, lockoutSeconds: 1800 },
  sessions: { durationSeconds: 7_776_000 },
  stepUpSeconds: 300,
  totp: { digits: 6, periodSeconds: 30, algorithm: "SHA1", window: 1 },
  recoveryCodes: { count: 10 },
  sms: {
    provider: "twilio",
    secretName: "twilio",
    defaultCountryCode: "+1",
    allowedCountries: ["*"],
    messagingServiceSid: null,
    senders: [],
    defaultSender: null,
    sinch: { endpointUrl: "https://verification.api.sinch.com", authMethod: "basic" },
  },
  email: {
    provider: "ses",
    fromAddress: null,
    configurationSet: null,
  },
  webauthn: { rpId: null, origins: [], userVerification: "preferred", attestation: "none" },
};

/** Sets `value` at a dotted path of a fresh object. */
function withValue(path: string, value: unknown): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const parts = path.split(".");
  let node = root;
  for (const part of parts.slice(0, -1)) {
    const next: Record<string, unknown> = {};
    node[part] = next;
    node = next;
  }
  node[parts.at(-1) as string] = value;
  return root;
}

const errorPaths = (input: unknown): string[] => {
  const result = parseAppConfig(input);
  return result.ok ? [] : result.errors.map((e) => e.path);
};

/** Every integer range of API.md: [path, min, max]. */
const RANGES: [string, number, number][] = [
  ["code.length", 6, 10],
  ["code.ttlSeconds", 30, 600],
  ["limits.maxCodeRequests", 1, 20],
  ["limits.requestTimeoutSeconds", 1, 86_400],
  ["limits.maxVerifyAttempts", 1, 10],
  ["limits.lockoutSeconds", 1, 86_400],
  ["sessions.durationSeconds", 60, 31_536_000],
  ["stepUpSeconds", 30, 3600],
  ["totp.window", 0, 2],
  ["recoveryCodes.count", 5, 20],
];

/** Every enumerated field of API.md: [path, allowed values, a refused value]. */
const CHOICES: [string, unknown[], unknown][] = [
  ["mfa.primaryMethod", ["sms", "email"], "none"],
  ["mfa.fallbackMethod", ["sms", "email", "none"], "totp"],
  ["totp.digits", [6, 8], 7],
  ["totp.periodSeconds", [30, 60], 45],
  ["totp.algorithm", ["SHA1", "SHA256", "SHA512"], "MD5"],
  ["sms.provider", ["twilio", "sinch", "local"], "nexmo"],
  ["sms.sinch.authMethod", ["basic", "signed"], "bearer"],
  ["email.provider", ["ses", "local"], "smtp"],
];

describe("app configuration defaults", () => {
  it("equal API.md's App configuration block", () => {
    const parsed = parseAppConfig({});
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.config).toMatchObject(API_DEFAULTS);
    expect(parsed.config.templates.en.sms).toBe("Your {app} code is {code}. It expires in {minutes} min.");
    expect(parsed.config.templates.en.emailSubject).toBe("Your {app} verification code");
    expect(parsed.config.templates.en.emailText).toContain("{code}");
    expect(parsed.config.templates.en.emailHtml).toContain("{code}");
  });

  it("name the app as the TOTP issuer", () => {
    const config = defaultAppConfig("Acme Bank");
    expect(config).toMatchObject(API_DEFAULTS);
    expect(config.totp.issuer).toBe("Acme Bank");
    // Mail goes out under the app's name too, never a made-up one.
    expect(config.email.fromName).toBe("Acme Bank");
    expect(appConfigSchema.parse({}).email.fromName).toBeUndefined();
    expect(issuerOf(config, "ignored")).toBe("Acme Bank");
    expect(issuerOf(appConfigSchema.parse({}), "Fallback")).toBe("Fallback");
  });

  it("survive a JSON round trip unchanged (the stored form)", () => {
    const config = defaultAppConfig("Acme");
    const again = parseAppConfig(JSON.parse(JSON.stringify(config)));
    expect(again).toEqual({ ok: true, config });
  });
});

describe("app configuration ranges", () => {
  describe.each(RANGES)("%s (%i..%i)", (path, min, max) => {
    it("accepts both ends of the range", () => {
      expect(errorPaths(withValue(path, min))).toEqual([]);
      expect(errorPaths(withValue(path, max))).toEqual([]);
    });

    it("rejects the value just below and just above, at its dotted path", () => {
      expect(errorPaths(withValue(path, min - 1))).toEqual([path]);
      expect(errorPaths(withValue(path, max + 1))).toEqual([path]);
    });

    it("rejects a fraction and a string", () => {
      expect(errorPaths(withValue(path, min + 0.5))).toEqual([path]);
      expect(errorPaths(withValue(path, String(min)))).toEqual([path]);
    });
  });

  describe.each(CHOICES)("%s", (path, allowed, refused) => {
    it(`accepts ${allowed.join(", ")}`, () => {
      for (const value of allowed) expect(errorPaths(withValue(path, value))).toEqual([]);
    });

    it(`rejects ${String(refused)} at its dotted path`, () => {
      expect(errorPaths(withValue(path, refused))).toEqual([path]);
    });
  });

  it("sms.allowedCountries takes ISO 3166 alpha-2 codes or *, and not an empty list", () => {
    expect(errorPaths(withValue("sms.allowedCountries", ["US", "CA"]))).toEqual([]);
    expect(errorPaths(withValue("sms.allowedCountries", ["*"]))).toEqual([]);
    expect(errorPaths(withValue("sms.allowedCountries", ["USA"]))).toEqual(["sms.allowedCountries.0"]);
    expect(errorPaths(withValue("sms.allowedCountries", ["US", "us"]))).toEqual(["sms.allowedCountries.1"]);
    expect(errorPaths(withValue("sms.allowedCountries", []))).toEqual(["sms.allowedCountries"]);
  });

  it("checks phone numbers, dialing codes, emails and the sinch endpoint", () => {
    expect(errorPaths(withValue("sms.defaultSender", "4155550100"))).toEqual(["sms.defaultSender"]);
    expect(errorPaths(withValue("sms.defaultCountryCode", "1"))).toEqual(["sms.defaultCountryCode"]);
    expect(errorPaths(withValue("sms.messagingServiceSid", "MGnothex"))).toEqual(["sms.messagingServiceSid"]);
    expect(errorPaths(withValue("email.fromAddress", "not-an-email"))).toEqual(["email.fromAddress"]);
    expect(errorPaths(withValue("sms.sinch.endpointUrl", "http://sinch.example.com"))).toEqual([
      "sms.sinch.endpointUrl",
    ]);
    expect(errorPaths(withValue("sms.sinch.endpointUrl", "https://eu.verification.api.sinch.com"))).toEqual(
      [],
    );
    expect(errorPaths({ sms: { senders: [{ number: "+14155550100", countries: ["XX1"] }] } })).toEqual([
      "sms.senders.0.countries.0",
    ]);
  });

  it("checks the user ids of mfa.exemptUserIds", () => {
    expect(errorPaths(withValue("mfa.exemptUserIds", ["api-user@x.com"]))).toEqual([]);
    expect(errorPaths(withValue("mfa.exemptUserIds", ["ok", "has space"]))).toEqual(["mfa.exemptUserIds.1"]);
  });

  it("lists several bad fields together", () => {
    const paths = errorPaths({
      code: { length: 5, ttlSeconds: 601 },
      limits: { lockoutSeconds: 0 },
      totp: { window: 3 },
      recoveryCodes: { count: 21 },
    });
    expect(paths.sort()).toEqual(
      [
        "code.length",
        "code.ttlSeconds",
        "limits.lockoutSeconds",
        "recoveryCodes.count",
        "totp.window",
      ].sort(),
    );
  });

  it("reports unknown keys at their own path", () => {
    const result = parseAppConfig({ code: { lenght: 6 }, colour: "red", sms: { sinch: { region: "eu" } } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual(
      expect.arrayContaining([
        { path: "code.lenght", message: "unknown field" },
        { path: "colour", message: "unknown field" },
        { path: "sms.sinch.region", message: "unknown field" },
      ]),
    );
    expect(result.errors).toHaveLength(3);
  });

  it("rejects a config that is not an object at (root)", () => {
    expect(errorPaths("nope")).toEqual(["(root)"]);
    expect(errorPaths(null)).toEqual(["(root)"]);
  });
});

describe("templates in the configuration", () => {
  it("must contain {code} in sms, emailText and emailHtml, in every locale", () => {
    expect(errorPaths({ templates: { en: { sms: "Your code" } } })).toEqual(["templates.en.sms"]);
    expect(errorPaths({ templates: { pt: { emailText: "Seu código" } } })).toEqual([
      "templates.pt.emailText",
    ]);
    expect(errorPaths({ templates: { fr: { emailHtml: "<p>code</p>" } } })).toEqual([
      "templates.fr.emailHtml",
    ]);
  });

  it("accept a subject without {code} and partial locales", () => {
    const result = parseAppConfig({ templates: { "pt-BR": { emailSubject: "Código {app}" } } });
    expect(result.ok).toBe(true);
  });

  it("complete a partial en from the defaults", () => {
    const result = parseAppConfig({ templates: { en: { sms: "{code} is your code" } } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.templates.en.sms).toBe("{code} is your code");
    expect(result.config.templates.en.emailSubject).toBe("Your {app} verification code");
  });

  it("report unknown template fields and bad locale names", () => {
    expect(errorPaths({ templates: { en: { smsText: "{code}" } } })).toEqual(["templates.en.smsText"]);
    const paths = errorPaths({ templates: { "not a locale": { sms: "{code}" } } });
    expect(paths).toHaveLength(1);
    expect(paths[0]).toMatch(/^templates/);
  });
});

/** Every field a PUT body must carry: all a GET returns but `version` (nullable ones as null). */
const REQUIRED_PATHS = [
  "mfa.required",
  "mfa.primaryMethod",
  "mfa.fallbackMethod",
  "mfa.exemptUserIds",
  "code.length",
  "code.ttlSeconds",
  "limits.maxCodeRequests",
  "limits.requestTimeoutSeconds",
  "limits.maxVerifyAttempts",
  "limits.lockoutSeconds",
  "sessions.durationSeconds",
  "stepUpSeconds",
  "totp.issuer",
  "totp.digits",
  "totp.periodSeconds",
  "totp.algorithm",
  "totp.window",
  "recoveryCodes.count",
  "sms.provider",
  "sms.secretName",
  "sms.defaultCountryCode",
  "sms.allowedCountries",
  "sms.messagingServiceSid",
  "sms.senders",
  "sms.defaultSender",
  "sms.sinch.endpointUrl",
  "sms.sinch.authMethod",
  "sms.sinch.secretName",
  "email.provider",
  "email.fromAddress",
  "email.fromName",
  "email.configurationSet",
  "smsProtection.mode",
  "smsProtection.perDestination.perHour",
  "smsProtection.perDestination.perDay",
  "smsProtection.perClientIp.perHour",
  "smsProtection.perClientIp.perDay",
  "smsProtection.perCountry.perHour",
  "smsProtection.perCountry.overrides",
  "smsProtection.appPerDay",
  "smsProtection.blockedPrefixes",
  "smsProtection.conversion.minSends",
  "smsProtection.conversion.minRate",
  "smsProtection.conversion.windowSeconds",
  "smsProtection.conversion.pauseSeconds",
  "webauthn.rpId",
  "webauthn.rpName",
  "webauthn.origins",
  "webauthn.userVerification",
  "webauthn.attestation",
  "templates.en.sms",
  "templates.en.emailSubject",
  "templates.en.emailText",
  "templates.en.emailHtml",
];

/** A complete document as GET returns it (JSON), to edit. */
const fullDocument = (): Record<string, Record<string, unknown>> =>
  JSON.parse(JSON.stringify(defaultAppConfig("Acme")));

const documentErrors = (input: unknown) => {
  const result = parseAppConfigDocument(input);
  return result.ok ? [] : result.errors;
};

describe("a config document sent to replace the stored one (PUT)", () => {
  it("is accepted complete, nullable fields as null, with or without version", () => {
    const full = fullDocument();
    expect(documentErrors(full)).toEqual([]);
    const { version: _, ...withoutVersion } = full;
    expect(parseAppConfigDocument(withoutVersion)).toEqual({ ok: true, config: defaultAppConfig("Acme") });
  });

  it("names every missing field with 'required' and takes no default for any of them", () => {
    const errors = documentErrors({ code: { length: 8 } });
    expect(errors.every((e) => e.message === "required")).toBe(true);
    expect(errors.map((e) => e.path).sort()).toEqual(
      REQUIRED_PATHS.filter((p) => p !== "code.length").sort(),
    );
    expect(
      documentErrors({})
        .map((e) => e.path)
        .sort(),
    ).toEqual([...REQUIRED_PATHS].sort());
  });

  it("requires each field on its own, nullable ones and the TOTP issuer included", () => {
    for (const path of REQUIRED_PATHS) {
      const doc = fullDocument();
      const [section, ...rest] = path.split(".");
      let node: Record<string, unknown> = doc;
      const keys = [section as string, ...rest];
      for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
      delete node[keys.at(-1) as string];
      expect(documentErrors(doc), path).toEqual([{ path, message: "required" }]);
    }
  });

  it("accepts null where a field is nullable, but not a missing one", () => {
    const doc = fullDocument();
    doc.sms = { ...doc.sms, messagingServiceSid: null, defaultSender: null, senders: [] };
    doc.email = { ...doc.email, configurationSet: null, fromAddress: null };
    expect(documentErrors(doc)).toEqual([]);
    doc.totp = { ...doc.totp, issuer: null };
    expect(documentErrors(doc).map((e) => e.path)).toEqual(["totp.issuer"]);
  });

  it("takes a from-address and senders, and null / [] again: a valid state, not a missing field", () => {
    const doc = fullDocument();
    doc.email = { ...doc.email, fromAddress: "no-reply@shop.example" };
    doc.sms = {
      ...doc.sms,
      defaultSender: "+14155550111",
      senders: [{ number: "+447700900123", countries: ["GB"] }],
    };
    const set = parseAppConfigDocument(doc);
    expect(set.ok && set.config.email.fromAddress).toBe("no-reply@shop.example");
    expect(set.ok && set.config.sms.senders).toEqual([{ number: "+447700900123", countries: ["GB"] }]);
    doc.email = { ...doc.email, fromAddress: null };
    doc.sms = { ...doc.sms, defaultSender: null, senders: [] };
    const cleared = parseAppConfigDocument(doc);
    expect(cleared.ok && [cleared.config.email.fromAddress, cleared.config.sms.defaultSender]).toEqual([
      null,
      null,
    ]);
    delete doc.email.fromAddress;
    expect(documentErrors(doc)).toEqual([{ path: "email.fromAddress", message: "required" }]);
  });

  it("lets locales other than en override only some parts, but en must be complete", () => {
    const doc = fullDocument();
    doc.templates = { ...doc.templates, fr: { sms: "Votre code {app} est {code}." } };
    expect(documentErrors(doc)).toEqual([]);
    doc.templates = { fr: { sms: "Votre code {app} est {code}." } };
    expect(documentErrors(doc).map((e) => e.path)).toEqual([
      "templates.en.sms",
      "templates.en.emailSubject",
      "templates.en.emailText",
      "templates.en.emailHtml",
    ]);
  });

  it("lists missing fields, bad values and unknown fields together", () => {
    const doc = fullDocument();
    delete doc.limits?.lockoutSeconds;
    doc.code = { ...doc.code, length: 11 };
    doc.sms = { ...doc.sms, colour: "red" };
    expect(documentErrors(doc)).toEqual(
      expect.arrayContaining([
        { path: "limits.lockoutSeconds", message: "required" },
        { path: "code.length", message: expect.any(String) },
        { path: "sms.colour", message: "unknown field" },
      ]),
    );
    expect(documentErrors(doc)).toHaveLength(3);
  });

  it("reports a section that is not an object once, at its own path", () => {
    const doc: Record<string, unknown> = fullDocument();
    doc.limits = null;
    expect(documentErrors(doc).map((e) => e.path)).toEqual(["limits"]);
    expect(documentErrors([]).map((e) => e.path)).toEqual(["(root)"]);
  });
});

const REFUSED_ENDPOINTS = [
  "https://attacker.example",
  "http://evil.sinch.com",
  "https://sinch.com.evil.net",
  "https://evilsinch.com",
  "https://user@evil.com",
  "https://user@verification.api.sinch.com",
  "https://user:pass@verification.api.sinch.com",
  "https://verification.api.sinch.com.",
  "https://evil.com\\@verification.api.sinch.com",
  "https://evil.com#.sinch.com",
  "https://evil.com?x=.sinch.com",
  "https://verification.api.sinch.com /x",
  "ftp://verification.api.sinch.com",
  "http://localhost:8080",
  "https://127.0.0.1:8443",
  "http://[::1]:8080",
  "http://127.0.0.1.sinch.example:8080",
  "verification.api.sinch.com",
  "",
];
const ACCEPTED_ENDPOINTS = [
  "https://verification.api.sinch.com",
  "https://eu.verification.api.sinch.com:443",
  "https://sinch.com",
  "https://us.verification.api.sinch.com:8443/base/",
  "HTTPS://Verification.API.Sinch.COM",
];

describe("sms.sinch.endpointUrl (SECURITY rule 37)", () => {
  it.each(REFUSED_ENDPOINTS)("refuses %j, in the cloud and locally", (url) => {
    expect(isSinchEndpointUrl(url)).toBe(false);
    expect(isSinchEndpointUrl(url, { allowLoopbackProviderUrls: true })).toBe(false);
    expect(errorPaths(withValue("sms.sinch.endpointUrl", url))).toEqual(["sms.sinch.endpointUrl"]);
  });

  it.each(ACCEPTED_ENDPOINTS)("accepts %j (https on sinch.com or a subdomain, any port)", (url) => {
    expect(isSinchEndpointUrl(url)).toBe(true);
    expect(errorPaths(withValue("sms.sinch.endpointUrl", url))).toEqual([]);
  });

  it("accepts http://127.0.0.1:<port> only when the wiring allows loopback (the local stack)", () => {
    const input = withValue("sms.sinch.endpointUrl", "http://127.0.0.1:1234");
    expect(errorPaths(input)).toEqual(["sms.sinch.endpointUrl"]);
    expect(parseAppConfig(input, { allowLoopbackProviderUrls: true }).ok).toBe(true);
    expect(() => appConfigSchema.parse(input)).toThrow();
    const doc = fullDocument();
    doc.sms = { ...doc.sms, sinch: { ...(doc.sms?.sinch as object), endpointUrl: "http://127.0.0.1:1234" } };
    expect(documentErrors(doc).map((e) => e.path)).toEqual(["sms.sinch.endpointUrl"]);
    expect(parseAppConfigDocument(doc, { allowLoopbackProviderUrls: true }).ok).toBe(true);
  });
});
