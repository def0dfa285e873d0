import * as z from "zod";
import { clone } from "zod/v4/core";
import { appConfigSchema } from "#core/config";
import { factorKinds } from "#core/factors/registry";
import { SMS_BLOCK_REASONS } from "#core/model/sms-protection";

/**
 * The response bodies of every operation, as the handlers write them. The OpenAPI document
 * publishes these (components/schemas, named by their `id` here), the typed client is generated
 * from it, and an integration test checks each handler's actual answers against them.
 */
export const responseSchemas = z.registry<{ id: string }>();

/** As classic zod's `.describe()` does it, so it also takes the request schemas, which are `zod/mini` (`#core/schema`). Namespace imports keep the lazily loaded document's zod to what it uses. */
const named = <T extends z.core.$ZodType>(id: string, description: string, schema: T): T => {
  const described = clone(schema) as T;
  z.globalRegistry.add(described, { description });
  responseSchemas.add(described, { id });
  return described;
};

const time = () => z.iso.datetime();
const count = () => z.number().int().min(0);

// --- WebAuthn options (the JSON forms of WebAuthn Level 3, as @simplewebauthn/server makes them)

const credentialDescriptor = z.object({
  id: z.string().describe("base64url credential id"),
  type: z.literal("public-key"),
  transports: z.array(z.string()).optional(),
});

const clientExtensions = z.record(z.string(), z.unknown());

const creationOptions = named(
  "PublicKeyCredentialCreationOptionsJSON",
  "What `navigator.credentials.create()` needs (`PublicKeyCredential.parseCreationOptionsFromJSON`).",
  z.object({
    rp: z.object({ id: z.string().optional(), name: z.string() }),
    user: z.object({ id: z.string(), name: z.string(), displayName: z.string() }),
    challenge: z.string().describe("base64url"),
    pubKeyCredParams: z.array(z.object({ alg: z.number().int(), type: z.literal("public-key") })),
    timeout: z.number().int().optional(),
    excludeCredentials: z.array(credentialDescriptor).optional(),
    authenticatorSelection: z
      .object({
        authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
        residentKey: z.enum(["discouraged", "preferred", "required"]).optional(),
        requireResidentKey: z.boolean().optional(),
        userVerification: z.enum(["required", "preferred", "discouraged"]).optional(),
      })
      .optional(),
    hints: z.array(z.enum(["hybrid", "security-key", "client-device"])).optional(),
    attestation: z.enum(["none", "indirect", "direct", "enterprise"]).optional(),
    attestationFormats: z.array(z.string()).optional(),
    extensions: clientExtensions.optional(),
  }),
);

const requestOptions = named(
  "PublicKeyCredentialRequestOptionsJSON",
  "What `navigator.credentials.get()` needs (`PublicKeyCredential.parseRequestOptionsFromJSON`).",
  z.object({
    challenge: z.string().describe("base64url"),
    timeout: z.number().int().optional(),
    rpId: z.string().optional(),
    allowCredentials: z.array(credentialDescriptor).optional(),
    userVerification: z.enum(["required", "preferred", "discouraged"]).optional(),
    hints: z.array(z.enum(["hybrid", "security-key", "client-device"])).optional(),
    extensions: clientExtensions.optional(),
  }),
);

// --- factors

const factorCommon = {
  factorId: z.string(),
  destination: z.string().describe("masked: +1******0123, a***@example.com; a webauthn factor's label"),
  createdAt: time(),
};

/** What each kind's enrollment answer adds to the pending factor. A kind without one here fails at load. */
const enrolledByKind: Record<string, z.ZodRawShape> = {
  sms: { challengeId: z.string(), expiresAt: time() },
  email: { challengeId: z.string(), expiresAt: time() },
  totp: {
    secret: z.string().describe("base32; shown only here"),
    otpauthUri: z.string(),
    qrCodeSvg: z.string().describe("an SVG document"),
    qrCodeDataUrl: z.string().describe("data:image/png;base64,..."),
  },
  webauthn: { creationOptions },
};

/** What the factor list shows beside the common fields, per kind (`view` of the kind). */
const listedByKind: Record<string, z.ZodRawShape> = {
  webauthn: {
    label: z.string(),
    transports: z.array(z.string()).optional(),
    backupEligible: z.boolean().optional(),
    backedUp: z.boolean().optional(),
    signCount: count().optional(),
  },
};

const kindTypes = factorKinds.map((k) => k.type);
for (const type of kindTypes) {
  if (!enrolledByKind[type]) throw new Error(`factor kind ${type} has no enrollment response schema`);
}

type Members = [z.ZodObject, ...z.ZodObject[]];
const byType = (build: (type: string) => z.ZodObject): Members => kindTypes.map(build) as Members;

export const enrolledFactor = named(
  "EnrolledFactor",
  "A pending factor: sms and email were sent a code (challengeId); totp shows its secret once; webauthn answers creationOptions.",
  z.discriminatedUnion(
    "type",
    byType((type) =>
      z.object({
        ...factorCommon,
        type: z.literal(type),
        status: z.literal("pending"),
        ...enrolledByKind[type],
      }),
    ),
  ),
);

export const activation = named(
  "Activation",
  "The activated factor; recoveryCodes only when this activation turned MFA on (never shown again).",
  z.object({
    factor: z.object({
      ...factorCommon,
      type: z.enum(kindTypes as [string, ...string[]]),
      status: z.literal("active"),
      activatedAt: time().nullable(),
    }),
    recoveryCodes: z.array(z.string()).optional(),
  }),
);

const factorStatus = z.enum(["pending", "active"]);

const listedFactor = named(
  "Factor",
  "A factor as listed: the common fields, and what its kind shows beside them (a webauthn key's label and flags).",
  z.discriminatedUnion(
    "type",
    byType((type) =>
      z.object({
        ...factorCommon,
        type: z.literal(type),
        status: factorStatus,
        lastUsedAt: time().nullable(),
        ...listedByKind[type],
      }),
    ),
  ),
);

export const factorList = named(
  "FactorList",
  "The user's factors and MFA state (an unknown user: enabled false, no factors).",
  z.object({
    userId: z.string(),
    enabled: z.boolean(),
    enrollmentRequired: z.boolean(),
    factors: z.array(listedFactor),
    recoveryCodesRemaining: count(),
  }),
);

export const recoveryCodes = named(
  "RecoveryCodes",
  "The new recovery codes (xxxx-xxxx-xxxx); every earlier one stopped working.",
  z.object({ recoveryCodes: z.array(z.string()) }),
);

// --- challenges, verifications, sessions

export const challenge = named(
  "Challenge",
  "A code sent (sms, email; possibly by fallback), or a webauthn challenge started (requestOptions; nothing sent).",
  z.discriminatedUnion("channel", [
    z.object({
      challengeId: z.string(),
      channel: z.enum(["sms", "email"]),
      destination: z.string().describe("masked"),
      expiresAt: time(),
      fallbackUsed: z.boolean(),
      fallbackReason: z.enum(["sms_protection", "delivery_failed", "no_factor"]).optional(),
    }),
    z.object({
      challengeId: z.string(),
      channel: z.literal("webauthn"),
      expiresAt: time(),
      requestOptions,
    }),
  ]),
);

export const approval = named(
  "Approval",
  "An approved verification and the session it opens.",
  z.object({
    status: z.literal("approved"),
    method: z.enum(["sms", "email", "totp", "recovery", "webauthn"]),
    sessionToken: z.string(),
    sessionExpiresAt: time(),
    recoveryCodesRemaining: count(),
  }),
);

export const sessionValidity = named(
  "SessionValidity",
  "Whether a session token is valid for this app.",
  z.discriminatedUnion("valid", [
    z.object({ valid: z.literal(true), userId: z.string(), expiresAt: time() }),
    z.object({ valid: z.literal(false) }),
  ]),
);

// --- admin

export const createdApp = named(
  "CreatedApp",
  "The new app and its first API key (shown only here).",
  z.object({ appId: z.string(), apiKey: z.string(), keyId: z.string() }),
);

export const appList = named(
  "AppList",
  "Every app.",
  z.object({ apps: z.array(z.object({ appId: z.string(), name: z.string(), createdAt: time() })) }),
);

export const apiKey = named(
  "ApiKey",
  "A new API key (shown only here).",
  z.object({ apiKey: z.string(), keyId: z.string() }),
);

export const appConfig = named("AppConfig", "An app's configuration, with its version.", appConfigSchema);

export const userAdminView = named(
  "UserAdminView",
  "A user's state, masked factors and counts; never a code, secret or token.",
  z.object({
    userId: z.string(),
    enabled: z.boolean(),
    lockedUntil: time().nullable(),
    failedAttempts: count(),
    factors: z.array(
      z.object({
        ...factorCommon,
        type: z.string(),
        status: factorStatus,
        details: z
          .record(z.string(), z.unknown())
          .describe("what the factor's kind shows beside (a webauthn key's label and flags)"),
      }),
    ),
    recoveryCodesRemaining: count(),
    activeSessions: count(),
  }),
);

export const auditPage = named(
  "AuditPage",
  "Audit events, newest first; nextCursor fetches the next (older) page.",
  z.object({
    events: z.array(
      z.object({
        at: time(),
        type: z.string().describe("challenge.sent, verification.approved, config.updated, ... (see API.md)"),
        outcome: z.string(),
        userId: z.string().optional(),
        channel: z.string().optional(),
        destination: z.string().optional().describe("masked"),
        ip: z.string().optional(),
        target: z.string().optional().describe("a secret's name, an API key's id, a country"),
        actor: z.string().optional().describe("the IAM principal or local-admin, for admin actions"),
      }),
    ),
    nextCursor: z.string().nullable(),
  }),
);

export const secretList = named(
  "SecretList",
  "Which provider secrets are set; never their values.",
  z.object({
    secrets: z.array(z.object({ name: z.string(), set: z.boolean(), updatedAt: time().nullable() })),
  }),
);

export const testDelivery = named(
  "TestDelivery",
  "The provider accepted the test message.",
  z.object({ delivered: z.literal(true), provider: z.string(), providerMessageId: z.string() }),
);

export const smsProtectionStatus = named(
  "SmsProtectionStatus",
  "Today's SMS, each country's conversion window and breaker, and refusals by reason in the last 24 h.",
  z.object({
    mode: z.enum(["off", "monitor", "enforce"]),
    appSentToday: count(),
    countries: z.array(
      z.object({
        country: z.string(),
        sentInWindow: count(),
        verifiedInWindow: count(),
        conversion: z.number().min(0).max(1).nullable(),
        pausedUntil: time().nullable(),
      }),
    ),
    blockedLast24h: z
      .record(z.string(), count())
      .describe(`refusals by reason: ${SMS_BLOCK_REASONS.join(", ")}`),
  }),
);

export const doctorReport = named(
  "DoctorReport",
  "What stands between the app and its first delivered code: ready when no blocking check fails.",
  z.object({
    ready: z.boolean(),
    checks: z.array(
      z.object({
        id: z
          .string()
          .describe(
            "config.valid, email.provider, email.from_address, email.identity, email.sandbox, sms.provider, sms.sender, secret.<name>, webauthn.origins",
          ),
        ok: z.boolean(),
        blocking: z.boolean().describe("a failing blocking check keeps the app from being ready"),
        detail: z.string(),
        fix: z.string().optional().describe("what to do, when the check fails"),
      }),
    ),
  }),
);

export const health = named("Health", "The service answers.", z.object({ ok: z.literal(true) }));

export const openApiDocumentSchema = named(
  "OpenApiDocument",
  "This OpenAPI 3.1 document.",
  z.looseObject({
    openapi: z.string(),
    info: z.record(z.string(), z.unknown()),
    paths: z.record(z.string(), z.unknown()),
  }),
);

// --- errors

export const problemSchema = named(
  "Problem",
  "RFC 9457 problem details. `code` is the stable error code; some codes carry the extension members below.",
  z.object({
    type: z.string().describe("about:blank"),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe("stable error code"),
    detail: z.string(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe("invalid_request, invalid_config: each field that is wrong"),
    attemptsRemaining: count().optional().describe("invalid_code"),
    lockedUntil: time().optional().describe("locked"),
    retryAfterSeconds: z.number().int().min(1).optional().describe("rate_limited, sms_blocked"),
    reason: z
      .enum(SMS_BLOCK_REASONS as [string, ...string[]])
      .optional()
      .describe("sms_blocked: the SMS protection limit that refused"),
    provider: z.string().optional().describe("delivery_failed"),
    providerCode: z.string().optional().describe("delivery_failed: the provider's own error code"),
    providerMessage: z.string().optional().describe("delivery_failed (test message): the provider's message"),
  }),
);
