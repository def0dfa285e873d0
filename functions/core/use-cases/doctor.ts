import { referencedSecrets, type SecretReference } from "../delivery-setup.ts";
import {
  type DoctorFacts,
  type DoctorReport,
  diagnose,
  diagnoseInvalidConfig,
  type SecretFact,
} from "../doctor.ts";
import { DomainError } from "../errors.ts";
import type {
  DeliverySetup,
  Deps,
  EmailIdentityFact,
  EmailSandboxFact,
  ProviderSecretSchema,
} from "../ports.ts";
import { type ConfigRulesDeps, loadAppContext, StoredConfigInvalid } from "./app-config.ts";

/**
 * `GET /v1/admin/apps/{appId}/doctor`: what stands between the app and its first delivered
 * code. Reads the config, asks the deployment (SES identity and sandbox, only when the app's
 * email goes through SES) and the secrets store (each secret the config refers to, checked
 * with its provider's schema) in parallel, and lets the pure rule decide. Never sends anything.
 */
export async function diagnoseApp(
  deps: Pick<Deps, "store" | "secrets"> & ConfigRulesDeps & { deliverySetup: DeliverySetup },
  schemas: readonly ProviderSecretSchema[],
  appId: string,
): Promise<DoctorReport> {
  let ctx: Awaited<ReturnType<typeof loadAppContext>>;
  try {
    ctx = await loadAppContext(deps, appId);
  } catch (error) {
    if (error instanceof StoredConfigInvalid) {
      return diagnoseInvalidConfig(
        appId,
        error.errors.map((e) => e.path),
      );
    }
    throw error;
  }
  const { config } = ctx;
  const setup = deps.deliverySetup;
  const ses = config.email.provider === "ses";
  const { fromAddress } = config.email;
  const [emailIdentity, emailSandbox, secrets] = await Promise.all([
    ses && fromAddress !== null ? identityOf(setup, fromAddress) : undefined,
    ses ? sandboxOf(setup) : undefined,
    Promise.all(referencedSecrets(config).map((ref) => secretFact(deps, schemas, ref))),
  ]);
  const facts: DoctorFacts = {
    offered: setup.offered,
    outboxUntilSecret: setup.outboxUntilSecret,
    emailIdentity,
    emailSandbox,
    secrets,
  };
  return diagnose(appId, config, facts);
}

async function identityOf(setup: DeliverySetup, fromAddress: string): Promise<EmailIdentityFact> {
  try {
    return await setup.emailIdentity(fromAddress);
  } catch (error) {
    return { status: "unknown", note: errorName(error) };
  }
}

async function sandboxOf(setup: DeliverySetup): Promise<EmailSandboxFact> {
  try {
    return await setup.emailSandbox();
  } catch (error) {
    return { sandbox: "unknown", note: errorName(error) };
  }
}

/** Whether the secret is there and fits its provider's schema; the problems name fields only. */
async function secretFact(
  deps: Pick<Deps, "secrets">,
  schemas: readonly ProviderSecretSchema[],
  ref: SecretReference,
): Promise<SecretFact> {
  let value: Record<string, unknown> | undefined;
  try {
    value = await deps.secrets.providerSecret(ref.name);
  } catch {
    return { ...ref, state: "unreadable" };
  }
  if (value === undefined) return { ...ref, state: "missing" };
  const schema = schemas.find((s) => s.provider === ref.provider);
  if (!schema) throw new DomainError("unavailable", `No secret schema for provider ${ref.provider}.`);
  const parsed = schema.schema.safeParse(value);
  if (parsed.success) return { ...ref, state: "set" };
  const problems = parsed.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => `${[...issue.path, key].join(".")} (unknown field)`)
      : [issue.path.join(".") || "(secret)"],
  );
  return { ...ref, state: "invalid", problems };
}

const errorName = (error: unknown): string =>
  `could not be read: ${error instanceof Error ? error.name : "Error"}`;
