import type { AppConfig } from "#core/config";
import { ProviderError } from "#core/errors";
import type { ProviderSecretSchema, Secrets } from "#core/ports";
import type * as z from "#core/schema";

/**
 * A provider's credentials: ONE schema, which the admin route checks a secret with before storing
 * it and the adapter checks it with on every read.
 */
export interface ProviderSecretSpec<S extends Record<string, unknown>> extends ProviderSecretSchema {
  readonly schema: z.ZodMiniType<S>;
  /** The provider's name in messages, e.g. `Twilio`. */
  readonly label: string;
  /** Which secret an app's config names for this provider. */
  secretNameIn(config: AppConfig): string;
}

const notConfigured = (spec: { provider: string }, message: string): ProviderError =>
  new ProviderError(spec.provider, "not_configured", message, "not_configured");

/**
 * Reads a provider's secret and checks it with its schema. A store that cannot be read makes the
 * provider unavailable; a secret that is missing or does not fit the schema makes it not
 * configured (either way a fallback applies). The error names the bad fields, never a value.
 */
export async function readProviderSecret<S extends Record<string, unknown>>(
  secrets: Secrets,
  spec: ProviderSecretSpec<S>,
  name: string,
): Promise<S> {
  let raw: Record<string, unknown> | undefined;
  try {
    raw = await secrets.providerSecret(name);
  } catch {
    throw new ProviderError(
      spec.provider,
      "secret_unavailable",
      `the ${spec.label} secret "${name}" could not be read`,
      "unavailable",
    );
  }
  if (raw === undefined) throw notConfigured(spec, `the ${spec.label} secret "${name}" is not set`);
  const parsed = spec.schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => `${[...issue.path, key].join(".")}: unknown field`)
      : [`${issue.path.join(".") || "(secret)"}: ${issue.message}`],
  );
  throw notConfigured(spec, `the ${spec.label} secret "${name}" is invalid (${fields.join("; ")})`);
}

/**
 * Rotate-and-retry, for every provider (SECURITY rule 22): `call` runs with the secret as cached.
 * When the provider answers "authentication failed" (a ProviderError of kind `auth`), the cached
 * copy is dropped and the secret read again; if what the call used (`usedOf`, default: the whole
 * secret) changed, the call runs once more with it. Never more than two calls; when the re-read
 * fails or changes nothing, the first failure stands.
 */
export async function withRotatingSecret<S extends Record<string, unknown>, R>(
  source: { secrets: Secrets; spec: ProviderSecretSpec<S>; name: string },
  call: (secret: S) => Promise<R>,
  usedOf: (secret: S) => unknown = (secret) => secret,
): Promise<R> {
  const { secrets, spec, name } = source;
  const secret = await readProviderSecret(secrets, spec, name);
  try {
    return await call(secret);
  } catch (failure) {
    if (!(failure instanceof ProviderError) || failure.kind !== "auth") throw failure;
    secrets.refreshProviderSecret(name);
    let fresh: S;
    try {
      fresh = await readProviderSecret(secrets, spec, name);
    } catch {
      throw failure;
    }
    // Imported here, on this rare path: a static import of node:util makes Node load its lazy
    // members (parseArgs, MIMEType) at every cold start, 0.7 ms of nothing.
    const { isDeepStrictEqual } = await import("node:util");
    if (isDeepStrictEqual(usedOf(fresh), usedOf(secret))) throw failure;
    return call(fresh);
  }
}
