import { recordAudit } from "../audit.ts";
import { type AppConfig, type ConfigRules, parseAppConfig, parseAppConfigDocument } from "../config.ts";
import { DomainError, type FieldError } from "../errors.ts";
import type { AppRecord, Deps } from "../ports.ts";

export interface AppContext {
  app: AppRecord;
  config: AppConfig;
  version: number;
}

/** A stored config that no longer validates is reported, never used with guessed values. */
export class StoredConfigInvalid extends Error {
  constructor(
    readonly appId: string,
    readonly errors: FieldError[],
  ) {
    super(`stored configuration of app ${appId} is invalid at ${errors.map((e) => e.path).join(", ")}`);
    this.name = "StoredConfigInvalid";
  }
}

/**
 * How strictly configs are checked, as the wiring sets it: the local stack allows loopback
 * provider URLs for its fakes; the cloud functions set nothing, which is the strictest.
 */
export interface ConfigRulesDeps {
  configRules?: ConfigRules;
}

export async function loadAppContext(
  deps: Pick<Deps, "store"> & ConfigRulesDeps,
  appId: string,
): Promise<AppContext> {
  const [app, stored] = await Promise.all([deps.store.getApp(appId), deps.store.getConfig(appId)]);
  if (!app || !stored) throw new DomainError("app_not_found", `App ${appId} does not exist.`);
  const parsed = parseAppConfig(stored.raw, deps.configRules);
  if (!parsed.ok) throw new StoredConfigInvalid(appId, parsed.errors);
  // A config stored before the issuer (or rpName) was written reads as complete, so GET, edit, PUT works on it.
  const totp = { ...parsed.config.totp, issuer: parsed.config.totp.issuer ?? app.name };
  const webauthn = { ...parsed.config.webauthn, rpName: parsed.config.webauthn.rpName ?? app.name };
  return {
    app,
    config: { ...parsed.config, totp, webauthn, version: stored.version },
    version: stored.version,
  };
}

export async function getAppConfig(
  deps: Pick<Deps, "store"> & ConfigRulesDeps,
  appId: string,
): Promise<AppContext> {
  return loadAppContext(deps, appId);
}

/**
 * Replaces the whole config: a body that omits a field is refused (`invalid_config` naming
 * each missing path), never completed from defaults. With `ifMatch` the write applies only
 * to that version; without it, to the version just read. Either way it is one conditional
 * write, so two admins never silently overwrite each other. The stored document is not
 * re-validated here (only its version matters), so a stored config that no longer passes
 * the rules can still be replaced by a good one.
 */
export async function updateAppConfig(
  deps: Pick<Deps, "store" | "audit" | "clock"> & ConfigRulesDeps,
  input: { appId: string; body: unknown; ifMatch: number | "*"; actor?: string },
): Promise<AppContext> {
  const [app, stored] = await Promise.all([
    deps.store.getApp(input.appId),
    deps.store.getConfig(input.appId),
  ]);
  if (!app || !stored) throw new DomainError("app_not_found", `App ${input.appId} does not exist.`);
  if (input.ifMatch !== "*" && input.ifMatch !== stored.version) {
    throw versionConflict(stored.version);
  }
  const body = isObject(input.body) ? { ...input.body } : input.body;
  if (isObject(body)) delete body.version;
  const parsed = parseAppConfigDocument(body, deps.configRules);
  if (!parsed.ok) {
    throw new DomainError("invalid_config", "The configuration is incomplete or has invalid values.", {
      errors: parsed.errors,
    });
  }
  const nextVersion = stored.version + 1;
  const config: AppConfig = { ...parsed.config, version: nextVersion };
  const result = await deps.store.putConfig(input.appId, config, stored.version);
  if (result === "conflict") throw versionConflict();
  await recordAudit(deps, {
    appId: input.appId,
    type: "config.updated",
    outcome: `version ${nextVersion}`,
    actor: input.actor,
  });
  return { app, config, version: nextVersion };
}

const versionConflict = (current?: number): DomainError =>
  new DomainError(
    "version_conflict",
    current === undefined
      ? "The configuration was changed by someone else. Read it again and retry."
      : `The configuration is at version ${current}. Read it again and retry.`,
  );

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
