import { recordAudit } from "../audit.ts";
import { issuesToFieldErrors } from "../config.ts";
import { invalidRequest } from "../errors.ts";
import { type Deps, type ProviderSecretSchema, SERVICE_AUDIT_APP_ID, type SecretInfo } from "../ports.ts";

const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,128}$/;

/** Which shape a secret must have: by its usual name, else by a field only that shape has. */
function schemaFor(
  schemas: readonly ProviderSecretSchema[],
  name: string,
  body: unknown,
): ProviderSecretSchema | undefined {
  const byName = schemas.find((s) => s.defaultName === name);
  if (byName) return byName;
  const has = (field: string) => typeof body === "object" && body !== null && field in body;
  return schemas.find((s) => has(s.marker));
}

/**
 * Stores a provider credential after checking it with its provider's schema (`schemas`: every
 * provider's, from the provider modules). It is never returned by any route, and takes effect
 * within the cache time.
 */
export async function putProviderSecret(
  deps: Pick<Deps, "secrets" | "audit" | "clock">,
  schemas: readonly ProviderSecretSchema[],
  input: { name: string; body: unknown; actor?: string },
): Promise<void> {
  const { name, body, actor } = input;
  if (!SECRET_NAME.test(name))
    throw invalidRequest([{ path: "name", message: "1-128 of A-Z a-z 0-9 / _ + = . @ -" }]);
  const shape = schemaFor(schemas, name, body);
  if (!shape) {
    throw invalidRequest([{ path: "(body)", message: schemas.map((s) => s.summary).join(" or ") }]);
  }
  const parsed = shape.schema.safeParse(body);
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

/** Whether each provider's usual secret is set, and when it changed; never a value. */
export async function listProviderSecrets(
  deps: Pick<Deps, "secrets">,
  schemas: readonly ProviderSecretSchema[],
): Promise<SecretInfo[]> {
  return deps.secrets.listProviderSecrets(schemas.map((s) => s.defaultName));
}
