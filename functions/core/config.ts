import { z } from "zod";
import type { FieldError } from "./errors.ts";
import { webauthnConfigSchema } from "./factors/webauthn/config.ts";

/** The id a client app uses for its end user: 1–128 of `[A-Za-z0-9._@+-]`. */
export const userIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._@+-]+$/, "1-128 characters of A-Z a-z 0-9 . _ @ + -");

/** Text that ends up in URIs and emails: a lone UTF-16 surrogate would break them, so it is refused here. */
export const wellFormed = (value: string): boolean => !/\p{Cs}/u.test(value);

const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, "an E.164 phone number such as +14155550100");
// Built on first use: only config validation needs it, not every cold start.
let regionNames: Intl.DisplayNames | undefined;
/** Codes Intl names that are not countries a phone number can belong to. */
const NOT_COUNTRIES = new Set(["EU", "EZ", "UN", "QO", "XA", "XB"]);

/** A real ISO 3166 alpha-2 country (the platform's region data knows it), not only two capitals. */
export const isCountryCode = (code: string): boolean => {
  if (!/^[A-Z]{2}$/.test(code) || NOT_COUNTRIES.has(code)) return false;
  regionNames ??= new Intl.DisplayNames(["en"], { type: "region" });
  const name = regionNames.of(code);
  return name !== undefined && name !== code && name !== "Unknown Region";
};

const countryCode = z.string().refine(isCountryCode, "an ISO 3166 alpha-2 country code such as US");
const dialingCode = z.string().regex(/^\+[1-9]\d{0,3}$/, "a dialing code such as +1 or +91");
const secretName = z
  .string()
  .regex(/^[A-Za-z0-9/_+=.@-]{1,128}$/, "a Secrets Manager name: 1-128 of A-Z a-z 0-9 / _ + = . @ -");

const withCode = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => s.includes("{code}"), "must contain {code}");

/** `en` must be complete; other locales may override only some parts. */
export const messageTemplateSchema = z.strictObject({
  sms: withCode(1600).default("Your {app} code is {code}. It expires in {minutes} min."),
  emailSubject: z.string().min(1).max(200).default("Your {app} verification code"),
  emailText: withCode(10_000).default(
    "Your {app} verification code is {code}.\n\nIt expires in {minutes} minutes. If you did not ask for it, ignore this email.",
  ),
  emailHtml: withCode(20_000).default(
    "<p>Your {app} verification code is <strong>{code}</strong>.</p><p>It expires in {minutes} minutes. If you did not ask for it, ignore this email.</p>",
  ),
});
const localeTemplateSchema = z.strictObject({
  sms: withCode(1600).optional(),
  emailSubject: z.string().min(1).max(200).optional(),
  emailText: withCode(10_000).optional(),
  emailHtml: withCode(20_000).optional(),
});
export type MessageTemplate = z.infer<typeof messageTemplateSchema>;
export type Templates = Record<string, Partial<MessageTemplate>> & { en: MessageTemplate };

const locale = z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "a BCP 47 locale such as en or pt-BR");

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** How strictly a config is checked where the deployment matters; core reads no environment, the wiring says. */
export interface ConfigRules {
  /**
   * Accept `http://127.0.0.1:<port>` as a provider URL, for the local stack's fakes. Only
   * the local stack's wiring sets it; absent (the cloud functions) means never.
   */
  allowLoopbackProviderUrls?: boolean;
}

/**
 * SECURITY rule 37: the Sinch credential may only travel to Sinch. https on `sinch.com` or
 * one of its subdomains (any port, no user info); with `allowLoopbackProviderUrls`, also
 * plain http to 127.0.0.1. Checked on the URL as parsed, the way the adapter parses it.
 */
export function isSinchEndpointUrl(value: string, rules: ConfigRules = {}): boolean {
  // Visible ASCII without `\`, so no other URL parser could read a different host than ours.
  if (!/^[\x21-\x5b\x5d-\x7e]+$/.test(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username !== "" || url.password !== "") return false;
  if (url.protocol === "https:") return url.hostname === "sinch.com" || url.hostname.endsWith(".sinch.com");
  return rules.allowLoopbackProviderUrls === true && url.protocol === "http:" && url.hostname === "127.0.0.1";
}

const sinchEndpointUrl = (rules: ConfigRules) =>
  z
    .string()
    .max(2048)
    .refine(
      (value) => isSinchEndpointUrl(value, rules),
      rules.allowLoopbackProviderUrls
        ? "must be https on sinch.com or a subdomain of it, or http://127.0.0.1:<port> locally"
        : "must be https on sinch.com or a subdomain of it",
    );

/** The config schema: omitted fields take their defaults (a new app's config, a stored one being loaded). */
const buildAppConfigSchema = (rules: ConfigRules) =>
  z.strictObject({
    version: z.number().int().min(1).default(1),
    mfa: z
      .strictObject({
        required: z.boolean().default(false),
        primaryMethod: z.enum(["sms", "email"]).default("sms"),
        fallbackMethod: z.enum(["sms", "email", "none"]).default("email"),
        exemptUserIds: z.array(userIdSchema).max(1000).default([]),
      })
      .prefault({}),
    code: z
      .strictObject({
        length: int(6, 10).default(6),
        ttlSeconds: int(30, 600).default(300),
      })
      .prefault({}),
    limits: z
      .strictObject({
        maxCodeRequests: int(1, 20).default(5),
        requestTimeoutSeconds: int(1, 86_400).default(900),
        maxVerifyAttempts: int(1, 10).default(3),
        lockoutSeconds: int(1, 86_400).default(1800),
      })
      .prefault({}),
    sessions: z.strictObject({ durationSeconds: int(60, 31_536_000).default(7_776_000) }).prefault({}),
    stepUpSeconds: int(30, 3600).default(300),
    totp: z
      .strictObject({
        issuer: z.string().min(1).max(100).refine(wellFormed, "must be well-formed text").optional(),
        digits: z.union([z.literal(6), z.literal(8)]).default(6),
        periodSeconds: z.union([z.literal(30), z.literal(60)]).default(30),
        algorithm: z.enum(["SHA1", "SHA256", "SHA512"]).default("SHA1"),
        window: int(0, 2).default(1),
      })
      .prefault({}),
    recoveryCodes: z.strictObject({ count: int(5, 20).default(10) }).prefault({}),
    sms: z
      .strictObject({
        provider: z.enum(["twilio", "sinch", "local"]).default("twilio"),
        secretName: secretName.default("twilio"),
        defaultCountryCode: dialingCode.default("+1"),
        allowedCountries: z
          .array(z.union([z.literal("*"), countryCode]))
          .min(1)
          .max(250)
          .default(["*"]),
        messagingServiceSid: z
          .string()
          .regex(/^MG[0-9a-fA-F]{32}$/, "a Messaging Service SID: MG and 32 hex digits")
          .nullable()
          .default(null),
        // No sender until an admin sets one: a made-up default would only fail at the provider.
        senders: z
          .array(z.strictObject({ number: e164, countries: z.array(countryCode).min(1).max(250) }))
          .max(100)
          .default([]),
        defaultSender: e164.nullable().default(null),
        sinch: z
          .strictObject({
            endpointUrl: sinchEndpointUrl(rules).default("https://verification.api.sinch.com"),
            authMethod: z.enum(["basic", "signed"]).default("basic"),
            secretName: secretName.default("sinch-verification-api"),
          })
          .prefault({}),
      })
      .prefault({}),
    email: z
      .strictObject({
        provider: z.enum(["ses", "local"]).default("ses"),
        // None until an admin sets an address of a verified SES identity (see the doctor route).
        fromAddress: z.email().max(254).nullable().default(null),
        // The name mail is sent under; absent, the app's name (as the TOTP issuer and the WebAuthn rpName).
        fromName: z.string().min(1).max(100).refine(wellFormed, "must be well-formed text").optional(),
        configurationSet: z.string().min(1).max(64).nullable().default(null),
      })
      .prefault({}),
    smsProtection: z
      .strictObject({
        mode: z.enum(["off", "monitor", "enforce"]).default("enforce"),
        perDestination: z
          .strictObject({ perHour: int(1, 1000).default(5), perDay: int(1, 1000).default(10) })
          .prefault({}),
        perClientIp: z
          .strictObject({ perHour: int(1, 10_000).default(10), perDay: int(1, 10_000).default(50) })
          .prefault({}),
        perCountry: z
          .strictObject({
            perHour: int(1, 1_000_000).default(200),
            overrides: z
              // ZZ: numbers no country owns (satellite, international services), a favourite of pumping.
              .record(z.union([countryCode, z.literal("ZZ")]), int(1, 1_000_000))
              .refine((overrides) => Object.keys(overrides).length <= 250, "at most 250 countries")
              .default({}),
          })
          .prefault({}),
        appPerDay: int(1, 10_000_000).default(10_000),
        blockedPrefixes: z
          .array(z.string().regex(/^\+[1-9]\d{0,14}$/, "an E.164 prefix such as +88216"))
          .max(1000)
          .default([]),
        conversion: z
          .strictObject({
            minSends: int(5, 10_000).default(20),
            minRate: z.number().min(0).max(1).default(0.2),
            windowSeconds: int(600, 86_400).default(3600),
            pauseSeconds: int(60, 86_400).default(3600),
          })
          .prefault({}),
      })
      .prefault({}),
    webauthn: webauthnConfigSchema.prefault({}),
    templates: z
      .record(locale, localeTemplateSchema)
      .default({})
      // `en` was checked above as a partial; completing it from the defaults cannot fail.
      .transform(
        (templates): Templates => ({ ...templates, en: messageTemplateSchema.parse(templates.en ?? {}) }),
      ),
  });

/** With the strictest rules: what the cloud accepts. */
export const appConfigSchema = buildAppConfigSchema({});
const loopbackAppConfigSchema = buildAppConfigSchema({ allowLoopbackProviderUrls: true });
const schemaFor = (rules: ConfigRules) =>
  rules.allowLoopbackProviderUrls === true ? loopbackAppConfigSchema : appConfigSchema;

export type AppConfig = z.output<typeof appConfigSchema>;
export type AppConfigInput = z.input<typeof appConfigSchema>;

export type ConfigParse = { ok: true; config: AppConfig } | { ok: false; errors: FieldError[] };

const joinPath = (path: readonly PropertyKey[]): string => path.map(String).join(".") || "(root)";

/** One entry per bad path; an unknown key is reported at its own path so a typo is easy to find. */
export const issuesToFieldErrors = (issues: readonly z.core.$ZodIssue[]): FieldError[] =>
  issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: joinPath([...issue.path, key]), message: "unknown field" }))
      : [{ path: joinPath(issue.path), message: issue.message }],
  );

/**
 * Parses a stored config (or builds one): omitted fields take their defaults, out-of-range
 * values are listed by path.
 */
export function parseAppConfig(input: unknown, rules: ConfigRules = {}): ConfigParse {
  const result = schemaFor(rules).safeParse(input);
  return result.success
    ? { ok: true, config: result.data }
    : { ok: false, errors: issuesToFieldErrors(result.error.issues) };
}

/**
 * Parses a config an admin sends to replace the stored one (`PUT`): the whole document, so
 * every field a complete config has (the ones a `GET` returns, `version` aside) must be
 * there, nullable ones as `null`. Each missing field is listed by path with "required"
 * (a missing section lists each of its fields), together with any bad values; nothing
 * falls back to a default. Locales other than `en` stay partial overrides.
 */
export function parseAppConfigDocument(input: unknown, rules: ConfigRules = {}): ConfigParse {
  const missing = missingPaths(input, completeDocument()).map((path) => ({ path, message: "required" }));
  const parsed = parseAppConfig(input, rules);
  if (missing.length === 0) return parsed;
  return { ok: false, errors: [...missing, ...(parsed.ok ? [] : parsed.errors)] };
}

export function defaultAppConfig(appName: string): AppConfig {
  const parsed = appConfigSchema.parse({
    totp: { issuer: appName },
    webauthn: { rpName: appName },
    email: { fromName: appName },
  });
  return parsed;
}

// Built on first use, like the region names it needs.
let complete: Record<string, unknown> | undefined;
/** The shape every PUT body must have: the default config of an app, without `version`. */
function completeDocument(): Record<string, unknown> {
  if (!complete) {
    const { version: _, ...rest } = defaultAppConfig("(app name)");
    complete = rest;
  }
  return complete;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Dotted paths of `reference` that `input` lacks. A value that is not an object is the schema's to report. */
function missingPaths(input: unknown, reference: unknown, path: readonly string[] = []): string[] {
  if (!isPlainObject(input) || !isPlainObject(reference)) return [];
  return Object.entries(reference).flatMap(([key, value]) =>
    input[key] === undefined
      ? leafPaths(value, [...path, key])
      : missingPaths(input[key], value, [...path, key]),
  );
}

const leafPaths = (value: unknown, path: readonly string[]): string[] =>
  isPlainObject(value) && Object.keys(value).length > 0
    ? Object.entries(value).flatMap(([key, inner]) => leafPaths(inner, [...path, key]))
    : [path.join(".")];

export const issuerOf = (config: AppConfig, appName: string): string => config.totp.issuer ?? appName;
