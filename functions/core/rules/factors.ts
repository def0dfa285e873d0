import { randomUUID } from "node:crypto";
import { absent, and, type Change, exists, merge, type StateWrite, still } from "../model/state-write.ts";
import {
  type ActiveFactor,
  activeFactorsOf,
  type FactorRecord,
  isLocked,
  type UserState,
} from "../model/user.ts";
import type { EpochMs } from "../ports.ts";
import { notLocked } from "./attempts.ts";
import { slotKey } from "./challenges.ts";
import { revokeSessions } from "./sessions.ts";

/** A factor not activated within a day is gone (TTL cleans it up; reads check it themselves). */
export const PENDING_FACTOR_TTL_SECONDS = 86_400;

export const pendingExpired = (createdAt: EpochMs, now: EpochMs): boolean =>
  now - createdAt > PENDING_FACTOR_TTL_SECONDS * 1000;

export const isActive = (state: UserState | undefined, factorId: string): boolean =>
  state?.factors?.[factorId] !== undefined;

/**
 * The pending factor of each kind that may still be activated: the newest unexpired one.
 * Re-enrolling replaces by being newer; the older item is left to its TTL, never deleted,
 * so no race with its activation can leave an active factor without its item.
 */
export function livePending(
  state: UserState | undefined,
  factors: readonly FactorRecord[],
  now: EpochMs,
): FactorRecord[] {
  const newest = new Map<string, FactorRecord>();
  for (const f of factors) {
    if (isActive(state, f.factorId) || pendingExpired(f.createdAt, now)) continue;
    const seen = newest.get(f.type);
    if (seen === undefined) {
      newest.set(f.type, f);
      continue;
    }
    // The kind's activation slot names the newest enrollment that was sent a code; else the newest by creation.
    const slotted = state?.challenges?.[slotKey("activation", f.type)]?.factorId;
    const wins =
      slotted !== undefined && (f.factorId === slotted || seen.factorId === slotted)
        ? f.factorId === slotted
        : f.createdAt > seen.createdAt || (f.createdAt === seen.createdAt && f.factorId > seen.factorId);
    if (wins) newest.set(f.type, f);
  }
  return [...newest.values()];
}

/** Active factors of a kind whose item exists (an item lost to a fault must not block a new enrollment). */
export const usableOfType = (
  state: UserState | undefined,
  factors: readonly FactorRecord[],
  type: string,
): string[] => activeOfType(state, type).filter((id) => factors.some((f) => f.factorId === id));

export const activeOfType = (state: UserState | undefined, type: string): string[] =>
  activeFactorsOf(state)
    .filter(([, f]) => f.type === type)
    .map(([id]) => id);

/** Puts one entry in a map attribute, creating the map when the state read had none. */
export function mapEntry(
  state: UserState | undefined,
  map: "factors" | "challenges",
  key: string,
  value: unknown,
): StateWrite {
  return state?.[map] === undefined
    ? { change: { set: [[[map], { [key]: value }]] }, condition: absent(map) }
    : { change: { set: [[[map, key], value]] }, condition: exists(map) };
}

export type ActivationRefusal = { kind: "locked"; until: EpochMs } | { kind: "factor_exists" };

/**
 * A pending factor becomes active. The first active factor turns MFA on and brings the
 * recovery codes; activating a further one is no verification (it must not unlock step-up).
 * Written on the factor set as read (`factorsVersion`).
 */
export function activateFactor(
  state: UserState | undefined,
  factor: { factorId: string; type: string },
  maxActive: number,
  recoveryHashes: readonly string[],
  now: EpochMs,
  /** What the kind keeps on the active entry (a WebAuthn credential). */
  data?: Readonly<Record<string, unknown>>,
): ActivationRefusal | { kind: "activate"; turnsMfaOn: boolean; write: StateWrite } {
  if (state?.lockedUntil !== undefined && isLocked(state, now))
    return { kind: "locked", until: state.lockedUntil };
  if (isActive(state, factor.factorId) || activeOfType(state, factor.type).length >= maxActive) {
    return { kind: "factor_exists" };
  }
  const turnsMfaOn = state?.enabled !== true;
  const entry: ActiveFactor = { type: factor.type, lastUsedAt: now, ...(data ? { data } : {}) };
  const put = mapEntry(state, "factors", factor.factorId, entry);
  const on: Change = turnsMfaOn
    ? {
        set: [
          [["verifiedAt"], now],
          [["recovery"], new Set(recoveryHashes)],
          [["recoverySetId"], randomUUID()],
        ],
        remove: [["recoveryUsed"]],
      }
    : {};
  return {
    kind: "activate",
    turnsMfaOn,
    write: {
      change: merge(put.change, on, {
        set: [
          [["enabled"], true],
          [["attempts"], 0],
        ],
        add: [[["factorsVersion"], 1]],
      }),
      condition: and(put.condition, still(["factorsVersion"], state?.factorsVersion), notLocked(now)),
    },
  };
}

/** MFA off: every factor, recovery code and pending code goes, and every session ends. */
const mfaOff = (): Change =>
  merge(revokeSessions().change, {
    remove: [
      ["enabled"],
      ["factors"],
      ["challenges"],
      ["recovery"],
      ["recoveryUsed"],
      ["recoverySetId"],
      ["totpAt"],
    ],
    add: [[["factorsVersion"], 1]],
  });

export const disableMfa = (): StateWrite => ({ change: mfaOff() });

/** Removing a factor; removing the last active one turns MFA off, as `DELETE /mfa` does. */
export function removeFactor(state: UserState | undefined, factorId: string): StateWrite | undefined {
  if (!isActive(state, factorId)) return undefined;
  const othersActive = activeFactorsOf(state).some(([id]) => id !== factorId);
  return {
    change: othersActive ? { remove: [["factors", factorId]], add: [[["factorsVersion"], 1]] } : mfaOff(),
    condition: and(exists("factors", factorId), still(["factorsVersion"], state?.factorsVersion)),
  };
}

/** Removing a factor that is not active: the factor set changes (so an activation racing it is refused), under the condition that it is still not active. */
export const forgetPending = (state: UserState | undefined, factorId: string): StateWrite => ({
  change: { add: [[["factorsVersion"], 1]] },
  condition: and(absent("factors", factorId), still(["factorsVersion"], state?.factorsVersion)),
});

/** Part of an approval by a factor: it must still be active and MFA still on, in the same write. */
export const provesFactor = (factorId: string, now: EpochMs): StateWrite => ({
  change: { set: [[["factors", factorId, "lastUsedAt"], now]] },
  condition: and(exists("factors", factorId), still(["enabled"], true)),
});

/** A new set of recovery codes replaces the whole set; a parallel regeneration makes this one a conflict. */
export const replaceRecoveryCodes = (
  state: UserState,
  hashes: readonly string[],
  now: EpochMs,
): StateWrite => ({
  change: {
    set: [
      [["recovery"], new Set(hashes)],
      [["recoverySetId"], randomUUID()],
    ],
    remove: [["recoveryUsed"]],
  },
  condition: and(still(["enabled"], true), notLocked(now), still(["recoverySetId"], state.recoverySetId)),
});
