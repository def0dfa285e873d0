import { recordAudit } from "../audit.ts";
import {
  type AppConfig,
  type ConfigParse,
  type ConfigRules,
  parseAppConfig,
  parseAppConfigDocument,
} from "../config.ts";
import { DomainError, type FieldError, invalidRequest } from "../errors.ts";
import { applyMergePatch } from "../merge-patch.ts";
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
  return {
    app,
    config: asShown(app, { ...parsed.config, version: stored.version }),
    version: stored.version,
  };
}

/**
 * A config without an issuer (or rpName) of its own, stored before they were written or
 * removed by a patch, uses the app's name: shown so, GET, edit, PUT works on it.
 */
const asShown = (app: AppRecord, config: AppConfig): AppConfig => ({
  ...config,
  totp: { ...config.totp, issuer: config.totp.issuer ?? app.name },
  webauthn: { ...config.webauthn, rpName: config.webauthn.rpName ?? app.name },
  email: { ...config.email, fromName: config.email.fromName ?? app.name },
});

export async function getAppConfig(
  deps: Pick<Deps, "store"> & ConfigRulesDeps,
  appId: string,
): Promise<AppContext> {
  return loadAppContext(deps, appId);
}

/**
 * The config as an admin edits it: as the service uses it, or, when the stored document no
 * longer validates (saved under older rules, or written around the API), that document as
 * stored, so `GET` shows what to repair and `PATCH` can repair it. Client routes keep
 * refusing it (503) until it validates.
 */
export async function getEditableConfig(
  deps: Pick<Deps, "store"> & ConfigRulesDeps,
  appId: string,
): Promise<{ config: Record<string, unknown>; version: number; app: AppRecord }> {
  try {
    return await loadAppContext(deps, appId);
  } catch (error) {
    if (!(error instanceof StoredConfigInvalid)) throw error;
    const [app, stored] = await Promise.all([deps.store.getApp(appId), deps.store.getConfig(appId)]);
    if (!app || !stored) throw new DomainError("app_not_found", `App ${appId} does not exist.`);
    const raw = isObject(stored.raw) ? stored.raw : {};
    return { app, config: { ...raw, version: stored.version }, version: stored.version };
  }
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
  const { app, stored } = await readForWrite(deps, input.appId, input.ifMatch);
  const body = isObject(input.body) ? { ...input.body } : input.body;
  if (isObject(body)) delete body.version;
  return writeConfig(deps, input, app, stored.version, parseAppConfigDocument(body, deps.configRules));
}

/**
 * Changes only what an RFC 7396 merge patch names (`PATCH`): it applies to the config as
 * `GET` shows it; `null` removes a member, so an optional field goes and any other takes its
 * default. The result is checked as a whole, and written under the same version condition
 * as a `PUT`.
 */
export async function patchAppConfig(
  deps: Pick<Deps, "store" | "audit" | "clock"> & ConfigRulesDeps,
  input: { appId: string; patch: unknown; ifMatch: number | "*"; actor?: string },
): Promise<AppContext> {
  if (!isObject(input.patch)) {
    throw invalidRequest([{ path: "(body)", message: "a merge patch must be a JSON object" }]);
  }
  const current = await getEditableConfig(deps, input.appId);
  if (input.ifMatch !== "*" && input.ifMatch !== current.version) throw versionConflict(current.version);
  const { version: _stored, ...document } = current.config;
  const { version: _sent, ...patch } = input.patch;
  const patched = applyMergePatch(document, patch);
  return writeConfig(deps, input, current.app, current.version, parseAppConfig(patched, deps.configRules));
}

async function readForWrite(
  deps: Pick<Deps, "store">,
  appId: string,
  ifMatch: number | "*",
): Promise<{ app: AppRecord; stored: { version: number } }> {
  const [app, stored] = await Promise.all([deps.store.getApp(appId), deps.store.getConfig(appId)]);
  if (!app || !stored) throw new DomainError("app_not_found", `App ${appId} does not exist.`);
  if (ifMatch !== "*" && ifMatch !== stored.version) throw versionConflict(stored.version);
  return { app, stored };
}

/** One conditional write on the version that was read, then the audit event. */
async function writeConfig(
  deps: Pick<Deps, "store" | "audit" | "clock">,
  input: { appId: string; actor?: string },
  app: AppRecord,
  readVersion: number,
  parsed: ConfigParse,
): Promise<AppContext> {
  if (!parsed.ok) {
    throw new DomainError("invalid_config", "The configuration is incomplete or has invalid values.", {
      errors: parsed.errors,
    });
  }
  const nextVersion = readVersion + 1;
  const config: AppConfig = { ...parsed.config, version: nextVersion };
  const result = await deps.store.putConfig(input.appId, config, readVersion);
  if (result === "conflict") throw versionConflict();
  await recordAudit(deps, {
    appId: input.appId,
    type: "config.updated",
    outcome: `version ${nextVersion}`,
    actor: input.actor,
  });
  return { app, config: asShown(app, config), version: nextVersion };
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
