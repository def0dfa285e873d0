import { recordAudit } from "../audit.ts";
import { DomainError } from "../errors.ts";
import { newId } from "../ids.ts";
import { recoveryRemaining } from "../model/user.ts";
import { lockedUntil } from "../policy.ts";
import { type AppRecord, type AuditPage, type Deps, type EpochMs, SERVICE_AUDIT_APP_ID } from "../ports.ts";
import { unlock } from "../rules/attempts.ts";
import { activeSessions } from "../rules/sessions.ts";
import { apiKeyHash, newApiKey } from "../sessions.ts";
import { loadAppContext } from "./app-config.ts";
import { factorViews } from "./list-factors.ts";

type AdminDeps = Pick<Deps, "store" | "audit" | "clock">;

export const listApps = (deps: Pick<Deps, "store">): Promise<AppRecord[]> => deps.store.listApps();

async function requireApp(deps: Pick<Deps, "store">, appId: string): Promise<AppRecord> {
  const app = await deps.store.getApp(appId, { fresh: true });
  if (!app) throw new DomainError("app_not_found", `App ${appId} does not exist.`);
  return app;
}

/** A further key for the app; earlier keys keep working until revoked. Shown once, stored as SHA-256. */
export async function createApiKey(
  deps: AdminDeps,
  appId: string,
  actor?: string,
): Promise<{ apiKey: string; keyId: string }> {
  await requireApp(deps, appId);
  const apiKey = newApiKey();
  const keyId = newId("key");
  await deps.store.putApiKey({ keyHash: apiKeyHash(apiKey), keyId, appId, createdAt: deps.clock.now() });
  await recordAudit(deps, { appId, type: "apikey.created", outcome: "created", target: keyId, actor });
  return { apiKey, keyId };
}

export async function revokeApiKey(
  deps: AdminDeps,
  appId: string,
  keyId: string,
  actor?: string,
): Promise<void> {
  await requireApp(deps, appId);
  if (!(await deps.store.revokeApiKey(appId, keyId, deps.clock.now()))) {
    throw new DomainError("not_found", `App ${appId} has no key ${keyId}.`);
  }
  await recordAudit(deps, { appId, type: "apikey.revoked", outcome: "revoked", target: keyId, actor });
}

export interface UserAdminView {
  userId: string;
  enabled: boolean;
  lockedUntil: EpochMs | null;
  failedAttempts: number;
  factors: { factorId: string; type: string; status: string; destination: string; createdAt: EpochMs }[];
  recoveryCodesRemaining: number;
  activeSessions: number;
}

/** What support needs to help a user: state, masked factors and counts; never a code, secret or token. */
export async function getUser(
  deps: Pick<Deps, "store" | "clock">,
  appId: string,
  userId: string,
): Promise<UserAdminView> {
  // The admin function reads apps uncached, so the app's session cut-off is current.
  const [{ app, config }, { state, factors }] = await Promise.all([
    loadAppContext(deps, appId),
    deps.store.loadUser(appId, userId),
  ]);
  const now = deps.clock.now();
  return {
    userId,
    enabled: state?.enabled === true,
    lockedUntil: lockedUntil(state, now) ?? null,
    failedAttempts: state?.attempts ?? 0,
    factors: factorViews(state, factors, now).map(({ lastUsedAt: _, ...f }) => f),
    recoveryCodesRemaining: recoveryRemaining(state),
    activeSessions: activeSessions(state, app, now, config.sessions.durationSeconds * 1000),
  };
}

export async function unlockUser(
  deps: AdminDeps,
  appId: string,
  userId: string,
  actor?: string,
): Promise<void> {
  await requireApp(deps, appId);
  await deps.store.writeUserState(appId, userId, unlock());
  await recordAudit(deps, { appId, userId, type: "user.unlocked", outcome: "unlocked", actor });
}

/** "Force all users to log in again": every session issued until now stops validating. */
export async function revokeAllSessions(deps: AdminDeps, appId: string, actor?: string): Promise<void> {
  await requireApp(deps, appId);
  await deps.store.revokeAppSessions(appId, deps.clock.now());
  await recordAudit(deps, { appId, type: "sessions.revoked", outcome: "all", actor });
}

export async function listAudit(
  deps: Pick<Deps, "store" | "audit">,
  appId: string,
  query: { userId?: string; limit: number; cursor?: string },
): Promise<AuditPage> {
  if (appId !== SERVICE_AUDIT_APP_ID) await loadAppContext(deps, appId);
  return deps.audit.list(appId, query);
}
