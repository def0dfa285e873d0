import { recordAudit } from "../audit.ts";
import { DomainError } from "../errors.ts";
import { isLocked } from "../model/user.ts";
import { assertNotLocked, lockedError } from "../policy.ts";
import type { AuditEventType, Deps } from "../ports.ts";
import { generateRecoveryCodes, recoveryCodeHash } from "../recovery.ts";
import { disableMfa as mfaOff, removeFactor as removal, replaceRecoveryCodes } from "../rules/factors.ts";
import { revokeSessions } from "../rules/sessions.ts";
import { loadAppContext } from "./app-config.ts";
import { assertSteppedUp } from "./step-up.ts";

type UserRef = { appId: string; userId: string; ip?: string };

/** Bound on compare-and-set rounds; each refused round brings the item back. */
const MAX_ROUNDS = 20;

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

/** Removes one factor (step-up needed while MFA is on). Removing the last active one turns MFA off. */
export async function removeFactor(deps: Deps, input: UserRef & { factorId: string }): Promise<void> {
  const ctx = await loadAppContext(deps, input.appId);
  const { state, factors } = await deps.store.loadUser(input.appId, input.userId);
  const now = deps.clock.now();
  assertNotLocked(state, now);
  const factor = factors.find((f) => f.factorId === input.factorId);
  if (!factor) throw new DomainError("factor_not_found", "No such factor for this user.");
  if (state?.enabled) assertSteppedUp(ctx, state, now);
  let current = state;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const write = removal(current, factor.factorId);
    if (!write) break;
    const written = await deps.store.writeUserState(input.appId, input.userId, write);
    if (written.ok) break;
    current = written.state;
  }
  await deps.store.deleteFactors(input.appId, input.userId, [factor.factorId]);
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
  const hashes = codes.map((code) => recoveryCodeHash(pepper, input.appId, input.userId, code));
  const written = await deps.store.writeUserState(
    input.appId,
    input.userId,
    replaceRecoveryCodes(state, hashes, now),
  );
  if (!written.ok) {
    const stored = written.state;
    if (stored?.lockedUntil !== undefined && isLocked(stored, now)) throw lockedError(stored.lockedUntil);
    if (!stored?.enabled)
      throw new DomainError("no_factor", "This user has no MFA to make recovery codes for.");
    // The loser of two parallel regenerations gets no codes that would never work.
    throw new DomainError("conflict", "The recovery codes were just replaced by another request; use those.");
  }
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
  await deps.store.writeUserState(input.appId, input.userId, mfaOff());
  await deps.store.deleteFactors(
    input.appId,
    input.userId,
    factors.map((f) => f.factorId),
  );
  await audited(deps, input, "mfa.disabled");
}

export async function revokeUserSessions(deps: Deps, input: UserRef): Promise<void> {
  await loadAppContext(deps, input.appId);
  await deps.store.writeUserState(input.appId, input.userId, revokeSessions());
  await audited(deps, input, "sessions.revoked");
}
