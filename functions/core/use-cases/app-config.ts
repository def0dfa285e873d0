import { recordAudit } from "../audit.ts";
import { type AppConfig, type ConfigRules, parseAppConfig } from "../config.ts";
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
  return { app, config: { ...parsed.config, version: stored.version }, version: stored.version };
}

export async function getAppConfig(
  deps: Pick<Deps, "store"> & ConfigRulesDeps,
  appId: string,
): Promise<AppContext> {
  return loadAppContext(deps, appId);
}

/**
 * Replaces the whole config (omitted fields take their defaults). With `ifMatch` the write
 * applies only to that version; without it, to the version just read. Either way it is one
 * conditional write, so two admins never silently overwrite each other.
 */
export async function updateAppConfig(
  deps: Pick<Deps, "store" | "audit" | "clock"> & ConfigRulesDeps,
  input: { appId: string; body: unknown; ifMatch: number | "*"; actor?: string },
): Promise<AppContext> {
  const current = await loadAppContext(deps, input.appId);
  if (input.ifMatch !== "*" && input.ifMatch !== current.version) {
    throw versionConflict(current.version);
  }
  const body = isObject(input.body) ? { ...input.body } : input.body;
  if (isObject(body)) delete body.version;
  const parsed = parseAppConfig(body, deps.configRules);
  if (!parsed.ok) {
    throw new DomainError("invalid_config", "The configuration has invalid values.", {
      errors: parsed.errors,
    });
  }
  const nextVersion = current.version + 1;
  const config: AppConfig = {
    ...parsed.config,
    version: nextVersion,
    totp: { ...parsed.config.totp, issuer: parsed.config.totp.issuer ?? current.app.name },
  };
  const result = await deps.store.putConfig(input.appId, config, current.version);
  if (result === "conflict") throw versionConflict();
  await recordAudit(deps, {
    appId: input.appId,
    type: "config.updated",
    outcome: `version ${nextVersion}`,
    actor: input.actor,
  });
  return { app: current.app, config, version: nextVersion };
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
