import { isCountryCode, issuesToFieldErrors, userIdSchema, wellFormed } from "#core/config";
import { invalidRequest } from "#core/errors";
import { localeField as locale } from "#core/factors/code-kind";
import { factorKinds } from "#core/factors/registry";
import * as z from "#core/schema";

const code = () => z.string().check(z.minLength(1), z.maxLength(64));

/** The end user's address as the client app saw it: SMS protection limits per IP, the audit trail records it. */
const clientIp = () =>
  z.optional(
    z.union([z.ipv4(), z.ipv6()], { error: "an IPv4 or IPv6 address such as 203.0.113.7 or 2001:db8::1" }),
  );

// Every body schema is built by its first request (z.lazy), not at import: each function imports
// this file, and building every route's schemas at import cost each cold start about 7 ms (bench/).

/** One member per registered factor kind: a new kind brings its own enrollment body. */
export const enrollBody = z.lazy(() =>
  z.discriminatedUnion(
    "type",
    factorKinds.map((kind) => z.extend(kind.enrollBody(), { clientIp: clientIp() })) as unknown as [
      z.ZodMiniObject,
      ...z.ZodMiniObject[],
    ],
  ),
);

/** A WebAuthn response (`RegistrationResponseJSON`, `AuthenticationResponseJSON`): a JSON object its kind parses. */
const credential = () => z.record(z.string(), z.unknown());

/** Exactly one proof: a code, or a credential. */
const oneProof = (body: { code?: unknown; credential?: unknown }, ctx: z.core.$RefinementCtx) => {
  if ((body.code === undefined) === (body.credential === undefined)) {
    ctx.addIssue({ code: "custom", path: ["code"], message: "send exactly one of code and credential" });
  }
};

export const activateBody = z.lazy(() =>
  z.pipe(
    z
      .strictObject({ code: z.optional(code()), credential: z.optional(credential()) })
      .check(z.superRefine(oneProof)),
    z.transform((body) =>
      body.credential === undefined ? { code: body.code ?? "" } : { credential: body.credential },
    ),
  ),
);

/** Code channels, and kinds that start their own challenge (`webauthn`): from the registry. */
const challengeChannels = factorKinds.filter((k) => k.channel || k.startChallenge).map((k) => k.type);

export const challengeBody = z.lazy(() =>
  z.strictObject({
    userId: userIdSchema,
    channel: z._default(z.enum(["auto", ...challengeChannels] as [string, ...string[]]), "auto"),
    purpose: z._default(z.enum(["login", "step_up", "password_change"]), "login"),
    locale: locale(),
    clientIp: clientIp(),
  }),
);

export const verificationBody = z.lazy(() =>
  z.pipe(
    z
      .strictObject({
        userId: userIdSchema,
        code: z.optional(code()),
        credential: z.optional(credential()),
        challengeId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
      })
      .check(
        z.superRefine((body, ctx) => {
          oneProof(body, ctx);
          if (body.credential !== undefined && body.challengeId === undefined) {
            ctx.addIssue({
              code: "custom",
              path: ["challengeId"],
              message: "a credential answers a challenge: send its id",
            });
          }
        }),
      ),
    z.transform(({ code, credential, ...rest }) =>
      credential === undefined ? { ...rest, code: code ?? "" } : { ...rest, credential },
    ),
  ),
);

export const validateSessionBody = z.lazy(() =>
  z.strictObject({
    sessionToken: z.string().check(z.minLength(1), z.maxLength(512)),
  }),
);

export const createAppBody = z.lazy(() =>
  z.strictObject({
    name: z
      .string()
      .check(z.trim(), z.minLength(1), z.maxLength(100), z.refine(wellFormed, "must be well-formed text")),
  }),
);

/** Config bodies are checked by the config schema itself, so errors come back as `invalid_config`. */
export const configBody = z.unknown();

/** Path parameters are user input too. */
export function userIdParam(params: Record<string, string>): string {
  const parsed = userIdSchema.safeParse(params.userId);
  if (!parsed.success)
    throw invalidRequest([{ path: "userId", message: parsed.error.issues[0]?.message ?? "invalid" }]);
  return parsed.data;
}

/** Ids in paths (apps, factors, keys) are short tokens; anything else is a malformed request, not a lookup. */
export function idParam(params: Record<string, string>, name: string): string {
  const value = params[name] ?? "";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value))
    throw invalidRequest([{ path: name, message: "1-64 of A-Z a-z 0-9 _ -" }]);
  return value;
}

export const iso = (epochMs: number): string => new Date(epochMs).toISOString();
export const isoOrNull = (epochMs: number | null | undefined): string | null =>
  epochMs === null || epochMs === undefined ? null : iso(epochMs);

export const testMessageBody = z.lazy(() =>
  z.strictObject({
    channel: z.enum(["sms", "email"]),
    to: z.string().check(z.minLength(1), z.maxLength(320)),
  }),
);

export const resumeCountryBody = z.lazy(() =>
  z.strictObject({
    country: z.union([
      z.string().check(z.refine(isCountryCode, "an ISO 3166 alpha-2 country code such as US")),
      z.literal("ZZ"),
    ]),
  }),
);

/** Secret bodies are checked against the provider's shape by the use case. */
export const secretBody = z.lazy(() => z.record(z.string(), z.unknown()));

const auditQuerySchema = z.lazy(() =>
  z.strictObject({
    userId: z.optional(userIdSchema),
    limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(100)), 50),
    cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
  }),
);

export function auditQuery(query: Record<string, string | undefined>): z.output<typeof auditQuerySchema> {
  const parsed = auditQuerySchema.safeParse(query);
  if (!parsed.success) throw invalidRequest(issuesToFieldErrors(parsed.error.issues));
  return parsed.data;
}
