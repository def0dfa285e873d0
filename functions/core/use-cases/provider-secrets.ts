import { z } from "zod";
import { recordAudit } from "../audit.ts";
import { issuesToFieldErrors } from "../config.ts";
import { invalidRequest } from "../errors.ts";
import { type Deps, SERVICE_AUDIT_APP_ID, type SecretInfo } from "../ports.ts";

const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, "an E.164 phone number");
export const twilioSecretSchema = z.strictObject({
  accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, "AC followed by 32 hex digits"),
  authToken: z.string().min(16).max(128),
  subaccounts: z
    .array(
      z.strictObject({
        dialingCode: z.string().regex(/^\+[1-9]\d{0,3}$/, "a dialing code such as +91"),
        accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, "AC followed by 32 hex digits"),
        authToken: z.string().min(16).max(128),
        senderPhone: e164,
      }),
    )
    .max(50)
    .optional(),
});
export const sinchSecretSchema = z.strictObject({
  authenticationId: z.string().min(1).max(200),
  secret: z.string().min(1).max(500),
});

export const KNOWN_SECRETS = ["twilio", "sinch-verification-api"] as const;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,128}$/;

/** Which shape a secret must have: by its well-known name, else by the fields it carries. */
function schemaFor(name: string, body: unknown) {
  const has = (field: string) => typeof body === "object" && body !== null && field in body;
  if (name === "twilio" || (name !== "sinch-verification-api" && has("accountSid")))
    return twilioSecretSchema;
  if (name === "sinch-verification-api" || has("authenticationId")) return sinchSecretSchema;
  return undefined;
}

/** Stores a provider credential; it is never returned by any route, and takes effect within the cache time. */
export async function putProviderSecret(
  deps: Pick<Deps, "secrets" | "audit" | "clock">,
  name: string,
  body: unknown,
  actor?: string,
): Promise<void> {
  if (!SECRET_NAME.test(name))
    throw invalidRequest([{ path: "name", message: "1-128 of A-Z a-z 0-9 / _ + = . @ -" }]);
  const schema = schemaFor(name, body);
  if (!schema) {
    throw invalidRequest([
      {
        path: "(body)",
        message: "a Twilio secret { accountSid, authToken } or a Sinch secret { authenticationId, secret }",
      },
    ]);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalidRequest(issuesToFieldErrors(parsed.error.issues));
  await deps.secrets.putProviderSecret(name, parsed.data);
  await recordAudit(deps, {
    appId: SERVICE_AUDIT_APP_ID,
    type: "secret.updated",
    outcome: "updated",
    actor,
    target: name,
  });
}

export async function listProviderSecrets(deps: Pick<Deps, "secrets">): Promise<SecretInfo[]> {
  return deps.secrets.listProviderSecrets(KNOWN_SECRETS);
}
