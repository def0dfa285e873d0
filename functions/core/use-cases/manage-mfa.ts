import { recordAudit } from "../audit.ts";
import { DomainError } from "../errors.ts";
import { assertNotLocked, lockedError } from "../policy.ts";
import type { AuditEventType, Deps } from "../ports.ts";
import { generateRecoveryCodes, recoveryCodeHash } from "../recovery.ts";
import { loadAppContext } from "./app-config.ts";
import { assertSteppedUp } from "./step-up.ts";

type UserRef = { appId: string; userId: string; ip?: string };

const audited = (
  deps: Deps,
  input: UserRef,
  type: AuditEventType,
  extra: { channel?: string; destination?: string } = {},
) =>
  recordAudit(deps, {
    appId: input.appId,
    userId: input.userId,
    ip: input.ip,
    type,
    outcome: "done",
    ...extra,
  });

/** Removes one factor (step-up needed while MFA is on). Removing the last active factor turns MFA off. */
export async function removeFactor(deps: Deps, input: UserRef & { factorId: string }): Promise<void> {
  const ctx = await loadAppContext(deps, input.appId);
  const { state, factors } = await deps.store.loadUser(input.appId, input.userId);
  const now = deps.clock.now();
  assertNotLocked(state, now);
  const factor = factors.find((f) => f.factorId === input.factorId);
  if (!factor) throw new DomainError("factor_not_found", "No such factor for this user.");
  if (state?.enabled) assertSteppedUp(ctx, state, now);
  await deps.store.removeFactor(factor, now);
  await audited(deps, input, "factor.removed", { channel: factor.type, destination: factor.destination });
}

/** A new set of recovery codes; every earlier one stops working. Shown only in this answer. */
export async function regenerateRecoveryCodes(deps: Deps, input: UserRef): Promise<string[]> {
  const ctx = await loadAppContext(deps, input.appId);
  const state = await deps.store.getUserState(input.appId, input.userId);
  const now = deps.clock.now();
  assertNotLocked(state, now);
  if (!state?.enabled) throw new DomainError("no_factor", "This user has no MFA to make recovery codes for.");
  assertSteppedUp(ctx, state, now);
  const codes = generateRecoveryCodes(ctx.config.recoveryCodes.count);
  const { pepper } = await deps.secrets.serviceSecret();
  const result = await deps.store.replaceRecoveryCodes(
    input.appId,
    input.userId,
    codes.map((code) => recoveryCodeHash(pepper, input.appId, input.userId, code)),
    now,
    state.recoverySetId,
  );
  if (result === "conflict") {
    throw new DomainError("conflict", "The recovery codes were just replaced by another request; use those.");
  }
  if (result === "mfa_off")
    throw new DomainError("no_factor", "This user has no MFA to make recovery codes for.");
  if (result !== "replaced") throw lockedError(result.lockedUntil);
  await audited(deps, input, "recovery.regenerated");
  return codes;
}

/** Turns MFA off: factors, recovery codes and sessions are removed. Nothing to remove is not an error. */
export async function disableMfa(deps: Deps, input: UserRef): Promise<void> {
  const ctx = await loadAppContext(deps, input.appId);
  const { state, factors } = await deps.store.loadUser(input.appId, input.userId);
  const now = deps.clock.now();
  assertNotLocked(state, now);
  if (!state?.enabled && factors.length === 0) return;
  if (state?.enabled) assertSteppedUp(ctx, state, now);
  await deps.store.disableMfa(input.appId, input.userId, now);
  await audited(deps, input, "mfa.disabled");
}

export async function revokeUserSessions(deps: Deps, input: UserRef): Promise<void> {
  await loadAppContext(deps, input.appId);
  await deps.store.revokeUserSessions(input.appId, input.userId, deps.clock.now());
  await audited(deps, input, "sessions.revoked");
}
