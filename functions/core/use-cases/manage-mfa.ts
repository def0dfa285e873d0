import { recordAudit } from "../audit.ts";
import { DomainError, StoreUnavailable } from "../errors.ts";
import { and, type StateWrite } from "../model/state-write.ts";
import { isLocked, type UserState } from "../model/user.ts";
import { assertNotLocked, lockedError } from "../policy.ts";
import type { AuditEventType, Deps } from "../ports.ts";
import { generateRecoveryCodes, recoveryCodeHash } from "../recovery.ts";
import {
  forgetPending,
  isActive,
  disableMfa as mfaOff,
  removeFactor as removal,
  replaceRecoveryCodes,
} from "../rules/factors.ts";
import { revokeSessions } from "../rules/sessions.ts";
import { stepUpHolds } from "../rules/step-up.ts";
import { type AppContext, loadAppContext } from "./app-config.ts";
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

/**
 * Removes one factor (step-up needed while MFA is on). Removing the last active one turns MFA
 * off. The write carries the step-up and the factor set as read, and is decided again on the
 * item a refusal brings back (MFA may have turned on meanwhile).
 */
export async function removeFactor(deps: Deps, input: UserRef & { factorId: string }): Promise<void> {
  const ctx = await loadAppContext(deps, input.appId);
  const { state, factors } = await deps.store.loadUser(input.appId, input.userId);
  const now = deps.clock.now();
  assertNotLocked(state, now);
  const factor = factors.find((f) => f.factorId === input.factorId);
  // An active factor whose item was lost can still be removed: nothing may keep a user stuck.
  if (!factor && !isActive(state, input.factorId))
    throw new DomainError("factor_not_found", "No such factor for this user.");
  await writeUnderStepUp(deps, ctx, input, state, now, (current) =>
    isActive(current, input.factorId)
      ? (removal(current, input.factorId) ?? forgetPending(current, input.factorId))
      : forgetPending(current, input.factorId),
  );
  await deps.store.deleteFactors(input.appId, input.userId, [input.factorId]);
  await audited(deps, input, "factor.removed", {
    channel: factor?.type ?? current(state, input.factorId),
    destination: factor?.destination,
  });
}

const current = (state: UserState | undefined, factorId: string) => state?.factors?.[factorId]?.type;

/** One write that needs step-up while MFA is on: refused and decided again if MFA turned on meanwhile. */
async function writeUnderStepUp(
  deps: Deps,
  ctx: AppContext,
  input: UserRef,
  read: UserState | undefined,
  now: number,
  decide: (state: UserState | undefined) => StateWrite,
): Promise<void> {
  let state = read;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (state?.lockedUntil !== undefined && isLocked(state, now)) throw lockedError(state.lockedUntil);
    assertSteppedUp(ctx, state, now);
    const write = decide(state);
    const written = await deps.store.writeUserState(input.appId, input.userId, {
      change: write.change,
      condition: and(write.condition, stepUpHolds(state, ctx.config.stepUpSeconds, now)),
    });
    if (written.ok) return;
    state = written.state;
  }
  throw new StoreUnavailable("step-up write: too much contention");
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
  await writeUnderStepUp(deps, ctx, input, state, now, () => mfaOff());
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
