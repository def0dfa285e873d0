import * as z from "zod";
import { appConfigSchema } from "#core/config";
import type { ErrorCode } from "#core/errors";
import { type Route, routes } from "#lib/routes";
import { type RequestOrigin, withServers } from "./openapi-servers.ts";
import { statusOf } from "./problem.ts";
import {
  activation,
  apiKey,
  appConfig,
  appList,
  approval,
  auditPage,
  challenge,
  createdApp,
  doctorReport,
  enrolledFactor,
  factorList,
  health,
  openApiDocumentSchema,
  recoveryCodes,
  responseSchemas,
  secretList,
  sessionValidity,
  smsProtectionStatus,
  testDelivery,
  userAdminView,
} from "./responses.ts";
import {
  activateBody,
  challengeBody,
  createAppBody,
  enrollBody,
  resumeCountryBody,
  secretBody,
  testMessageBody,
  validateSessionBody,
  verificationBody,
} from "./schemas.ts";

interface OperationDoc {
  summary: string;
  status: number;
  /** The success body, from `responses.ts` (none for 204). */
  response?: z.core.$ZodType;
  /** The body schema the handler validates with: the same object, so the document cannot drift. */
  body?: z.core.$ZodType;
  /** A whole document (config PUT): every field with a default must be sent, so it is described as the schema's output. */
  wholeDocument?: boolean;
  /** A merge patch (config PATCH): any subset of the document, sent as `application/merge-patch+json`. */
  mergePatch?: boolean;
  /** Config reads and writes: the answer carries `ETag`; a write needs `If-Match`. */
  versioned?: "read" | "write";
  /** Takes `Idempotency-Key`: a repeat answers the first response again. */
  idempotent?: boolean;
  /** Route-specific errors; the auth, request and availability errors are added for every route. */
  errors: ErrorCode[];
  query?: Record<string, { description: string; schema: Record<string, unknown> }>;
}

/** `rate_limited` here: every allowed attempt of the user is being checked right now (retry in a second). */
const CODE_ERRORS: ErrorCode[] = ["invalid_code", "code_expired", "locked", "rate_limited"];

/** Every deployed route, described. A test checks this table against `lib/routes.ts` both ways. */
export const operationDocs: Record<string, OperationDoc> = {
  "POST /v1/users/{userId}/factors": {
    summary:
      "Enroll a factor (sms, email: a code is sent at once; totp: secret, otpauth URI and QR codes; webauthn: creationOptions)",
    status: 201,
    response: enrolledFactor,
    body: enrollBody,
    errors: [
      "invalid_phone",
      "invalid_email",
      "country_not_allowed",
      "webauthn_not_configured",
      "factor_exists",
      "step_up_required",
      "locked",
      "rate_limited",
      "delivery_failed",
      "sms_blocked",
    ],
  },
  "POST /v1/users/{userId}/factors/{factorId}/activate": {
    summary:
      "Confirm a pending factor with its first code (webauthn: the registration response); the first activation returns recovery codes",
    status: 200,
    response: activation,
    body: activateBody,
    errors: [
      "factor_not_found",
      "factor_exists",
      "step_up_required",
      "invalid_credential",
      "webauthn_not_configured",
      ...CODE_ERRORS,
    ],
  },
  "GET /v1/users/{userId}/factors": {
    summary: "The user's factors and MFA state",
    status: 200,
    response: factorList,
    errors: [],
  },
  "DELETE /v1/users/{userId}/factors/{factorId}": {
    summary: "Remove a factor (step-up required)",
    status: 204,
    errors: ["factor_not_found", "step_up_required", "locked"],
  },
  "POST /v1/users/{userId}/recovery-codes": {
    summary: "Replace all recovery codes (step-up required)",
    status: 201,
    response: recoveryCodes,
    errors: ["no_factor", "step_up_required", "locked", "conflict"],
  },
  "DELETE /v1/users/{userId}/mfa": {
    summary: "Turn MFA off: factors, recovery codes and sessions are removed (step-up required)",
    status: 204,
    errors: ["step_up_required", "locked"],
  },
  "POST /v1/challenges": {
    summary:
      "Send a one-time code to an active sms/email factor, with fallback; or start a webauthn challenge (requestOptions, nothing sent)",
    status: 201,
    response: challenge,
    body: challengeBody,
    idempotent: true,
    errors: [
      "no_factor",
      "rate_limited",
      "locked",
      "delivery_failed",
      "sms_blocked",
      "webauthn_not_configured",
      "idempotency_key_reused",
      "request_in_progress",
    ],
  },
  "POST /v1/verifications": {
    summary:
      "Check a code (a challenge's code, a TOTP code, a recovery code) or a webauthn assertion answering a challenge",
    status: 200,
    response: approval,
    body: verificationBody,
    errors: [...CODE_ERRORS, "challenge_not_found", "delivery_failed", "webauthn_not_configured"],
  },
  "POST /v1/sessions/validate": {
    summary: "Is this session token valid for this app?",
    status: 200,
    response: sessionValidity,
    body: validateSessionBody,
    errors: [],
  },
  "DELETE /v1/users/{userId}/sessions": {
    summary: "Revoke all of this user's sessions",
    status: 204,
    errors: [],
  },
  "POST /v1/admin/apps": {
    summary: "Create an app and its first API key",
    status: 201,
    response: createdApp,
    body: createAppBody,
    errors: [],
  },
  "GET /v1/admin/apps": { summary: "List apps", status: 200, response: appList, errors: [] },
  "POST /v1/admin/apps/{appId}/api-keys": {
    summary: "Add an API key (older keys keep working)",
    status: 201,
    response: apiKey,
    errors: ["app_not_found"],
  },
  "DELETE /v1/admin/apps/{appId}/api-keys/{keyId}": {
    summary: "Revoke an API key (refused within 60 s everywhere)",
    status: 204,
    errors: ["app_not_found", "not_found"],
  },
  "GET /v1/admin/apps/{appId}/config": {
    summary: "The app's configuration, with ETag",
    status: 200,
    response: appConfig,
    versioned: "read",
    errors: ["app_not_found"],
  },
  "PUT /v1/admin/apps/{appId}/config": {
    summary: "Replace the app's configuration (If-Match guards concurrent edits)",
    status: 200,
    response: appConfig,
    versioned: "write",
    body: appConfigSchema,
    wholeDocument: true,
    errors: [
      "app_not_found",
      "invalid_request",
      "invalid_config",
      "version_conflict",
      "precondition_required",
    ],
  },
  "PATCH /v1/admin/apps/{appId}/config": {
    summary:
      "Change some of the app's configuration with an RFC 7396 merge patch (null removes a field or restores its default)",
    status: 200,
    response: appConfig,
    versioned: "write",
    body: appConfigSchema,
    mergePatch: true,
    errors: [
      "app_not_found",
      "invalid_request",
      "invalid_config",
      "version_conflict",
      "precondition_required",
      "unsupported_media_type",
    ],
  },
  "GET /v1/admin/apps/{appId}/users/{userId}": {
    summary: "A user's state, masked factors and counts",
    status: 200,
    response: userAdminView,
    errors: ["app_not_found"],
  },
  "POST /v1/admin/apps/{appId}/users/{userId}/unlock": {
    summary: "End a lock",
    status: 204,
    errors: ["app_not_found"],
  },
  "POST /v1/admin/apps/{appId}/sessions/revoke-all": {
    summary: "Force every user of the app to log in again",
    status: 204,
    errors: ["app_not_found"],
  },
  "GET /v1/admin/apps/{appId}/audit": {
    summary: "Audit events, newest first",
    status: 200,
    response: auditPage,
    errors: ["app_not_found"],
    query: {
      userId: { description: "only this user's events", schema: { type: "string" } },
      limit: {
        description: "page size, 1-100 (default 50)",
        schema: { type: "integer", minimum: 1, maximum: 100 },
      },
      cursor: { description: "nextCursor of the previous page", schema: { type: "string" } },
    },
  },
  "GET /v1/admin/apps/{appId}/doctor": {
    summary: "What stands between the app and its first delivered code: each check, and what to fix",
    status: 200,
    response: doctorReport,
    errors: ["app_not_found"],
  },
  "GET /v1/admin/secrets": {
    summary: "Which provider secrets are set (never their values)",
    status: 200,
    response: secretList,
    errors: [],
  },
  "PUT /v1/admin/secrets/{name}": {
    summary: "Store a provider credential (Twilio or Sinch)",
    status: 204,
    body: secretBody,
    errors: [],
  },
  "POST /v1/admin/apps/{appId}/test-message": {
    summary: "Send a test SMS or email with the saved configuration and secrets",
    status: 200,
    response: testDelivery,
    body: testMessageBody,
    errors: ["app_not_found", "invalid_phone", "invalid_email", "country_not_allowed", "delivery_failed"],
  },
  "GET /v1/admin/apps/{appId}/sms-protection": {
    summary: "SMS protection: today's SMS, each country's conversion and breaker, refusals in the last 24 h",
    status: 200,
    response: smsProtectionStatus,
    errors: ["app_not_found"],
  },
  "POST /v1/admin/apps/{appId}/sms-protection/resume": {
    summary: "Close a country's conversion breaker now",
    status: 204,
    body: resumeCountryBody,
    errors: ["app_not_found", "conflict"],
  },
  "GET /healthz": { summary: "Liveness", status: 200, response: health, errors: [] },
  "GET /openapi.json": { summary: "This document", status: 200, response: openApiDocumentSchema, errors: [] },
};

const COMPONENTS = "#/components/schemas/";

const withoutDialect = (schema: Record<string, unknown>): Record<string, unknown> => {
  const { $schema: _, $id: __, ...rest } = schema;
  return rest;
};

const jsonSchema = (schema: z.core.$ZodType, io: "input" | "output" = "input"): Record<string, unknown> =>
  withoutDialect(z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>);

/** The response bodies as components, each named by its id in `responses.ts` and referring to the others by `$ref`. */
function responseComponents(): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(responseSchemas, {
    io: "output",
    unrepresentable: "any",
    uri: (id) => `${COMPONENTS}${id}`,
    override: ({ jsonSchema: schema }) => {
      // `format` says it; zod's long equivalent pattern only makes the document harder to read.
      if (schema.format === "date-time") delete schema.pattern;
      if (schema.minimum === Number.MIN_SAFE_INTEGER) delete schema.minimum;
      if (schema.maximum === Number.MAX_SAFE_INTEGER) delete schema.maximum;
    },
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => [id, withoutDialect(schema as Record<string, unknown>)]),
  );
}

function refTo(schema: z.core.$ZodType): { $ref: string } {
  const id = responseSchemas.get(schema)?.id;
  if (!id) throw new Error("a response schema is not registered in responses.ts");
  return { $ref: `${COMPONENTS}${id}` };
}

/** The config PUT body: every field the service returns, except `version` (If-Match carries it). */
function documentSchema(schema: z.core.$ZodType): Record<string, unknown> {
  const described = jsonSchema(schema, "output");
  const required = Array.isArray(described.required)
    ? described.required.filter((name) => name !== "version")
    : [];
  return { ...described, required };
}

/**
 * An RFC 7396 merge patch of a document with this schema: every member optional, and `null`
 * (remove, or restore the default) allowed; objects patch member by member, anything else is replaced whole.
 */
function mergePatchSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const { required: _, properties, additionalProperties, ...rest } = schema;
  if (rest.type !== "object") return schema;
  // An empty schema already allows null.
  const member = (s: unknown) =>
    Object.keys(s as object).length === 0
      ? s
      : { anyOf: [mergePatchSchema(s as Record<string, unknown>), { type: "null" }] };
  return {
    ...rest,
    ...(properties
      ? {
          properties: Object.fromEntries(
            Object.entries(properties as Record<string, unknown>).map(([name, s]) => [name, member(s)]),
          ),
        }
      : {}),
    ...(additionalProperties === undefined
      ? {}
      : {
          additionalProperties:
            typeof additionalProperties === "object" ? member(additionalProperties) : additionalProperties,
        }),
  };
}

function errorsOf(route: Route, doc: OperationDoc): Map<number, ErrorCode[]> {
  const common: ErrorCode[] =
    route.auth === "client"
      ? ["invalid_request", "unauthorized", "unavailable"]
      : route.auth === "admin"
        ? ["invalid_request", "unauthorized", "forbidden", "unavailable"]
        : ["unavailable"];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set([...common, ...doc.errors]))
    byStatus.set(statusOf(code), [...(byStatus.get(statusOf(code)) ?? []), code]);
  return byStatus;
}

/** The codes whose answer carries `Retry-After` (and `retryAfterSeconds`). */
const RETRY_CODES = new Set<ErrorCode>(["rate_limited", "sms_blocked", "request_in_progress", "unavailable"]);

const retryHeader = (codes: ErrorCode[]): Record<string, unknown> =>
  codes.some((code) => RETRY_CODES.has(code))
    ? {
        headers: {
          "Retry-After": {
            description: `Seconds to wait before retrying (${codes.filter((c) => RETRY_CODES.has(c)).join(", ")})`,
            required: codes.every((code) => RETRY_CODES.has(code)),
            schema: { type: "integer", minimum: 1 },
          },
        },
      }
    : {};

function success(doc: OperationDoc): Record<string, unknown> {
  if (doc.status === 204) return { description: "Done; no body" };
  if (!doc.response) throw new Error(`a ${doc.status} answer needs its response schema`);
  const headers = {
    ...(doc.idempotent
      ? {
          "Idempotent-Replayed": {
            description: "true when this is the first response to the same Idempotency-Key, answered again",
            required: false,
            schema: { type: "string", enum: ["true"] },
          },
        }
      : {}),
    ...(doc.versioned
      ? {
          ETag: {
            description: 'The configuration\'s version, e.g. "7": send it back as If-Match to change it',
            required: true,
            schema: { type: "string" },
          },
        }
      : {}),
  };
  return {
    description: "Success",
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    content: { "application/json": { schema: refTo(doc.response) } },
  };
}

function problems(route: Route, doc: OperationDoc): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, codes] of errorsOf(route, doc)) {
    responses[String(status)] = {
      description: codes.join(", "),
      ...retryHeader(codes),
      content: {
        "application/problem+json": {
          schema: {
            allOf: [
              { $ref: `${COMPONENTS}Problem` },
              { type: "object", required: ["code"], properties: { code: { enum: codes } } },
            ],
          },
        },
      },
    };
  }
  return responses;
}

const operationId = (route: Route): string =>
  `${route.method.toLowerCase()}${route.path.replace(/[{}]/g, "").replace(/[/.-](\w)/g, (_, c: string) => c.toUpperCase())}`;

function operation(route: Route, doc: OperationDoc): Record<string, unknown> {
  const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const query = Object.entries(doc.query ?? {}).map(([name, q]) => ({
    name,
    in: "query",
    required: false,
    ...q,
  }));
  const headers = [
    ...(doc.versioned === "write"
      ? [
          {
            name: "If-Match",
            in: "header",
            required: true,
            description:
              'The ETag of the configuration this edit starts from (or "*" for whatever is current): a stale one answers 412',
            schema: { type: "string" },
          },
        ]
      : []),
    ...(doc.idempotent
      ? [
          {
            name: "Idempotency-Key",
            in: "header",
            required: false,
            description:
              "A repeat with the same key and body within 10 minutes answers the first response again (nothing sent twice)",
            schema: { type: "string", minLength: 1, maxLength: 128, pattern: "^[\\x21-\\x7E]+$" },
          },
        ]
      : []),
  ];
  const parameters = [...params, ...query, ...headers];
  return {
    operationId: operationId(route),
    summary: doc.summary,
    tags: [route.fn],
    security:
      route.auth === "client"
        ? [{ apiKey: [] }]
        : route.auth === "admin"
          ? [{ iam: [] }, { adminToken: [] }]
          : [],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body
      ? {
          requestBody: {
            required: true,
            content: doc.mergePatch
              ? {
                  "application/merge-patch+json": {
                    schema: {
                      ...mergePatchSchema(documentSchema(doc.body)),
                      description:
                        "Any part of the configuration document (the PUT body): objects merge member by member, arrays and values replace, null removes.",
                    },
                  },
                }
              : {
                  "application/json": {
                    schema: doc.wholeDocument ? documentSchema(doc.body) : jsonSchema(doc.body),
                  },
                },
          },
        }
      : {}),
    responses: { [String(doc.status)]: success(doc), ...problems(route, doc) },
  };
}

/** OpenAPI 3.1 for every deployed route: request bodies from the handlers' own zod schemas, responses from `responses.ts`. */
export function openApiDocument(origin: RequestOrigin = {}): Record<string, unknown> {
  return withServers(openApiBody(), origin);
}

/** The document without `servers` (the one part that depends on the request), built once per process. */
export function openApiBody(): Record<string, unknown> {
  built ??= buildDocument();
  return built;
}

/** Built once per process (it takes about 0.1 s). */
let built: Record<string, unknown> | undefined;

function buildDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    if (route.fn === "local") continue;
    const doc = operationDocs[`${route.method} ${route.path}`];
    if (!doc) throw new Error(`route ${route.method} ${route.path} is not documented`);
    paths[route.path] = { ...(paths[route.path] ?? {}), [route.method.toLowerCase()]: operation(route, doc) };
  }
  return {
    info: {
      title: "otp-service",
      version: "1",
      description:
        "Second-factor service: one-time codes by SMS and email, authenticator apps, passkeys and security keys (WebAuthn), recovery codes.",
    },
    tags: [
      { name: "enroll", description: "Factors, recovery codes and MFA of a user (API key)" },
      { name: "send", description: "Challenges: one-time codes sent, WebAuthn challenges started (API key)" },
      { name: "verify", description: "Verifications and sessions (API key)" },
      {
        name: "admin-config",
        description: "Apps, keys, configuration, secrets, users, audit (admin); health",
      },
    ],
    paths,
    components: {
      schemas: responseComponents(),
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "The app's API key" },
        iam: {
          type: "apiKey",
          in: "header",
          name: "Authorization",
          description: "AWS SigV4 (IAM), when deployed",
        },
        adminToken: { type: "http", scheme: "bearer", description: "The local stack's admin token" },
      },
    },
  };
}

export { type RequestOrigin, serverUrl } from "./openapi-servers.ts";
