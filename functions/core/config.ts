import type { FieldError } from "./errors.ts";
import { webauthnConfigSchema } from "./factors/webauthn/config.ts";
import * as z from "./schema.ts";

/** The id a client app uses for its end user: 1–128 of `[A-Za-z0-9._@+-]`. */
export const userIdSchema = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(128),
    z.regex(/^[A-Za-z0-9._@+-]+$/, "1-128 characters of A-Z a-z 0-9 . _ @ + -"),
  );

/** Text that ends up in URIs and emails: a lone UTF-16 surrogate would break them, so it is refused here. */
export const wellFormed = (value: string): boolean => !/\p{Cs}/u.test(value);

const e164 = z.string().check(z.regex(/^\+[1-9]\d{6,14}$/, "an E.164 phone number such as +14155550100"));
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

const countryCode = z.string().check(z.refine(isCountryCode, "an ISO 3166 alpha-2 country code such as US"));
const dialingCode = z.string().check(z.regex(/^\+[1-9]\d{0,3}$/, "a dialing code such as +1 or +91"));
const secretName = z
  .string()
  .check(
    z.regex(/^[A-Za-z0-9/_+=.@-]{1,128}$/, "a Secrets Manager name: 1-128 of A-Z a-z 0-9 / _ + = . @ -"),
  );

const withCode = (max: number) =>
  z.string().check(
    z.minLength(1),
    z.maxLength(max),
    z.refine((s) => s.includes("{code}"), "must contain {code}"),
  );

const subject = z.string().check(z.minLength(1), z.maxLength(200));

/** `en` must be complete; other locales may override only some parts. */
export const messageTemplateSchema = z.strictObject({
  sms: z._default(withCode(1600), "Your {app} code is {code}. It expires in {minutes} min."),
  emailSubject: z._default(subject, "Your {app} verification code"),
  emailText: z._default(
    withCode(10_000),
    "Your {app} verification code is {code}.\n\nIt expires in {minutes} minutes. If you did not ask for it, ignore this email.",
  ),
  emailHtml: z._default(
    withCode(20_000),
    "<p>Your {app} verification code is <strong>{code}</strong>.</p><p>It expires in {minutes} minutes. If you did not ask for it, ignore this email.</p>",
  ),
});
const localeTemplateSchema = z.strictObject({
  sms: z.optional(withCode(1600)),
  emailSubject: z.optional(subject),
  emailText: z.optional(withCode(10_000)),
  emailHtml: z.optional(withCode(20_000)),
});
export type MessageTemplate = z.infer<typeof messageTemplateSchema>;
export type Templates = Record<string, Partial<MessageTemplate>> & { en: MessageTemplate };

const locale = z
  .string()
  .check(z.regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "a BCP 47 locale such as en or pt-BR"));

const int = (min: number, max: number) => z.number().check(z.int(), z.gte(min), z.lte(max));
/** A field that takes `value` when omitted. */
const dflt = <T extends z.core.SomeType>(schema: T, value: z.core.util.NoUndefined<z.core.output<T>>) =>
  z._default(schema, value);

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
  z.string().check(
    z.maxLength(2048),
    z.refine(
      (value) => isSinchEndpointUrl(value, rules),
      rules.allowLoopbackProviderUrls
        ? "must be https on sinch.com or a subdomain of it, or http://127.0.0.1:<port> locally"
        : "must be https on sinch.com or a subdomain of it",
    ),
  );

/** The config schema: omitted fields take their defaults (a new app's config, a stored one being loaded). */
const buildAppConfigSchema = (rules: ConfigRules) =>
  z.strictObject({
    version: dflt(z.number().check(z.int(), z.gte(1)), 1),
    mfa: z.prefault(
      z.strictObject({
        required: dflt(z.boolean(), false),
        primaryMethod: dflt(z.enum(["sms", "email"]), "sms"),
        fallbackMethod: dflt(z.enum(["sms", "email", "none"]), "email"),
        exemptUserIds: dflt(z.array(userIdSchema).check(z.maxLength(1000)), []),
      }),
      {},
    ),
    code: z.prefault(
      z.strictObject({
        length: dflt(int(6, 10), 6),
        ttlSeconds: dflt(int(30, 600), 300),
      }),
      {},
    ),
    limits: z.prefault(
      z.strictObject({
        maxCodeRequests: dflt(int(1, 20), 5),
        requestTimeoutSeconds: dflt(int(1, 86_400), 900),
        maxVerifyAttempts: dflt(int(1, 10), 3),
        lockoutSeconds: dflt(int(1, 86_400), 1800),
      }),
      {},
    ),
    sessions: z.prefault(z.strictObject({ durationSeconds: dflt(int(60, 31_536_000), 7_776_000) }), {}),
    stepUpSeconds: dflt(int(30, 3600), 300),
    totp: z.prefault(
      z.strictObject({
        issuer: z.optional(
          z
            .string()
            .check(z.minLength(1), z.maxLength(100), z.refine(wellFormed, "must be well-formed text")),
        ),
        digits: dflt(z.union([z.literal(6), z.literal(8)]), 6),
        periodSeconds: dflt(z.union([z.literal(30), z.literal(60)]), 30),
        algorithm: dflt(z.enum(["SHA1", "SHA256", "SHA512"]), "SHA1"),
        window: dflt(int(0, 2), 1),
      }),
      {},
    ),
    recoveryCodes: z.prefault(z.strictObject({ count: dflt(int(5, 20), 10) }), {}),
    sms: z.prefault(
      z.strictObject({
        provider: dflt(z.enum(["twilio", "sinch", "local"]), "twilio"),
        secretName: dflt(secretName, "twilio"),
        defaultCountryCode: dflt(dialingCode, "+1"),
        allowedCountries: dflt(
          z.array(z.union([z.literal("*"), countryCode])).check(z.minLength(1), z.maxLength(250)),
          ["*"],
        ),
        messagingServiceSid: dflt(
          z.nullable(
            z.string().check(z.regex(/^MG[0-9a-fA-F]{32}$/, "a Messaging Service SID: MG and 32 hex digits")),
          ),
          null,
        ),
        // No sender until an admin sets one: a made-up default would only fail at the provider.
        senders: dflt(
          z
            .array(
              z.strictObject({
                number: e164,
                countries: z.array(countryCode).check(z.minLength(1), z.maxLength(250)),
              }),
            )
            .check(z.maxLength(100)),
          [],
        ),
        defaultSender: dflt(z.nullable(e164), null),
        sinch: z.prefault(
          z.strictObject({
            endpointUrl: dflt(sinchEndpointUrl(rules), "https://verification.api.sinch.com"),
            authMethod: dflt(z.enum(["basic", "signed"]), "basic"),
            secretName: dflt(secretName, "sinch-verification-api"),
          }),
          {},
        ),
      }),
      {},
    ),
    email: z.prefault(
      z.strictObject({
        provider: dflt(z.enum(["ses", "local"]), "ses"),
        // None until an admin sets an address of a verified SES identity (see the doctor route).
        fromAddress: dflt(z.nullable(z.email().check(z.maxLength(254))), null),
        // The name mail is sent under; absent, the app's name (as the TOTP issuer and the WebAuthn rpName).
        fromName: z.optional(
          z
            .string()
            .check(z.minLength(1), z.maxLength(100), z.refine(wellFormed, "must be well-formed text")),
        ),
        configurationSet: dflt(z.nullable(z.string().check(z.minLength(1), z.maxLength(64))), null),
      }),
      {},
    ),
    smsProtection: z.prefault(
      z.strictObject({
        mode: dflt(z.enum(["off", "monitor", "enforce"]), "enforce"),
        perDestination: z.prefault(
          z.strictObject({ perHour: dflt(int(1, 1000), 5), perDay: dflt(int(1, 1000), 10) }),
          {},
        ),
        perClientIp: z.prefault(
          z.strictObject({ perHour: dflt(int(1, 10_000), 10), perDay: dflt(int(1, 10_000), 50) }),
          {},
        ),
        perCountry: z.prefault(
          z.strictObject({
            perHour: dflt(int(1, 1_000_000), 200),
            overrides: dflt(
              // ZZ: numbers no country owns (satellite, international services), a favourite of pumping.
              z
                .record(z.union([countryCode, z.literal("ZZ")]), int(1, 1_000_000))
                .check(
                  z.refine((overrides) => Object.keys(overrides).length <= 250, "at most 250 countries"),
                ),
              {},
            ),
          }),
          {},
        ),
        appPerDay: dflt(int(1, 10_000_000), 10_000),
        blockedPrefixes: dflt(
          z
            .array(z.string().check(z.regex(/^\+[1-9]\d{0,14}$/, "an E.164 prefix such as +88216")))
            .check(z.maxLength(1000)),
          [],
        ),
        conversion: z.prefault(
          z.strictObject({
            minSends: dflt(int(5, 10_000), 20),
            minRate: dflt(z.number().check(z.gte(0), z.lte(1)), 0.2),
            windowSeconds: dflt(int(600, 86_400), 3600),
            pauseSeconds: dflt(int(60, 86_400), 3600),
          }),
          {},
        ),
      }),
      {},
    ),
    webauthn: z.prefault(webauthnConfigSchema, {}),
    templates: z.pipe(
      dflt(z.record(locale, localeTemplateSchema), {}),
      // `en` was checked above as a partial; completing it from the defaults cannot fail.
      z.transform(
        (templates): Templates => ({ ...templates, en: messageTemplateSchema.parse(templates.en ?? {}) }),
      ),
    ),
  });

/** With the strictest rules: what the cloud accepts. */
export const appConfigSchema = buildAppConfigSchema({});
// Only the local stack allows loopback provider URLs: the cloud functions never build this one.
let loopbackAppConfigSchema: typeof appConfigSchema | undefined;
function schemaFor(rules: ConfigRules): typeof appConfigSchema {
  if (rules.allowLoopbackProviderUrls !== true) return appConfigSchema;
  loopbackAppConfigSchema ??= buildAppConfigSchema({ allowLoopbackProviderUrls: true });
  return loopbackAppConfigSchema;
}

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
