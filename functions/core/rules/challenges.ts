import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { absent, and, cmp, eq, exists, or, type StateWrite } from "../model/state-write.ts";
import type { ChallengePurpose, ChallengeSlot, UserState } from "../model/user.ts";
import type { EpochMs } from "../ports.ts";

/** Sends of one purpose share a slot (a new code supersedes the last); activation codes have one per factor type. */
export const slotKey = (purpose: ChallengePurpose, factorType: string): string =>
  purpose === "activation" ? `activation_${factorType}` : purpose;

export const VERIFICATION_PURPOSES: readonly ChallengePurpose[] = ["login", "step_up", "password_change"];

type IdClass = "verification" | "activation";
const classOf = (purpose: ChallengePurpose): IdClass =>
  purpose === "activation" ? "activation" : "verification";

const idMac = (pepper: string, appId: string, userId: string, cls: IdClass, nonce: string): Buffer =>
  createHmac("sha256", pepper)
    .update(`challenge-id|${appId}|${userId}|${cls}|${nonce}`)
    .digest()
    .subarray(0, 9);

/**
 * Challenge ids carry a MAC over their app, user and class, so no item is needed to tell a
 * code that was superseded or used (410) from an id that was never issued to this user (404).
 */
export function newChallengeId(
  pepper: string,
  appId: string,
  userId: string,
  purpose: ChallengePurpose,
): string {
  const nonce = randomBytes(16).toString("base64url");
  return `ch_${nonce}${idMac(pepper, appId, userId, classOf(purpose), nonce).toString("base64url")}`;
}

export function issuedChallengeId(
  pepper: string,
  appId: string,
  userId: string,
  purposes: readonly ChallengePurpose[],
  id: string,
): boolean {
  const match = /^ch_([A-Za-z0-9_-]{22})([A-Za-z0-9_-]{12})$/.exec(id);
  if (!match?.[1] || !match[2]) return false;
  const given = Buffer.from(match[2], "base64url");
  return [...new Set(purposes.map(classOf))].some((cls) => {
    const expected = idMac(pepper, appId, userId, cls, match[1] ?? "");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export function findSlot(
  state: UserState | undefined,
  challengeId: string,
  purposes: readonly ChallengePurpose[],
): [string, ChallengeSlot] | undefined {
  return Object.entries(state?.challenges ?? {}).find(
    ([, slot]) => slot.id === challengeId && purposes.includes(slot.purpose),
  );
}

export const slotExpired = (slot: ChallengeSlot, now: EpochMs): boolean => slot.expiresAt <= now;

/**
 * After a code was delivered: it becomes the current one of its slot unless a newer one (by
 * creation) got there first. Written on what was read; a refused write is decided again.
 */
export function registerChallenge(
  state: UserState | undefined,
  key: string,
  slot: ChallengeSlot,
): StateWrite {
  if (state?.challenges === undefined) {
    return { change: { set: [[["challenges"], { [key]: slot }]] }, condition: absent("challenges") };
  }
  return {
    change: { set: [[["challenges", key], slot]] },
    condition: and(
      exists("challenges"),
      or(absent("challenges", key), cmp(["challenges", key, "createdAt"], "<=", slot.createdAt)),
    ),
  };
}

/** True when a registration was refused only because a newer code already holds the slot. */
export const newerHoldsSlot = (state: UserState | undefined, key: string, slot: ChallengeSlot): boolean =>
  (state?.challenges?.[key]?.createdAt ?? Number.NEGATIVE_INFINITY) > slot.createdAt;

/** Approving with a code spends it: the slot must still hold it, unexpired, and it goes. */
export const spendChallenge = (key: string, slot: ChallengeSlot, now: EpochMs): StateWrite => ({
  change: { remove: [["challenges", key]] },
  condition: and(eq(["challenges", key, "id"], slot.id), cmp(["challenges", key, "expiresAt"], ">", now)),
});
