import { describe, expect, it } from "vitest";
import { StoreUnavailable } from "#core/errors";
import type { Challenge, Factor } from "#core/ports";
import { MemoryStore } from "../support/memory-store.ts";

/** The fake must behave like DynamoStore; these pin the semantics the use-case tests rely on. */

const T0 = 1_000_000;
const send = (store: MemoryStore, now: number, max = 3, windowSeconds = 60) =>
  store.reserveSend("a", "u", { now, maxCodeRequests: max, windowSeconds });
/** One wrong code: the attempt is reserved first, then reported wrong. */
const fail = async (store: MemoryStore, now: number, max = 3, lockoutSeconds = 60) => {
  const policy = { now, maxVerifyAttempts: max, lockoutSeconds };
  const reservation = await store.reserveAttempt("a", "u", policy);
  if (!reservation.ok)
    return "busy" in reservation ? reservation : { locked: true, lockedUntil: reservation.lockedUntil };
  const { locked, ...rest } = await store.failAttempt("a", "u", reservation.attempt, policy);
  return locked
    ? { locked, lockedUntil: (rest as { lockedUntil: number }).lockedUntil }
    : { locked, ...rest };
};

const challenge = (patch: Partial<Challenge> = {}): Challenge => ({
  challengeId: "c1",
  appId: "a",
  userId: "u",
  purpose: "login",
  channel: "email",
  factorId: "f1",
  codeHash: "h1",
  destination: "u***@x.com",
  createdAt: T0,
  expiresAt: T0 + 300_000,
  ...patch,
});

const factor = (patch: Partial<Factor> = {}): Factor => ({
  factorId: "f1",
  appId: "a",
  userId: "u",
  type: "email",
  status: "pending",
  destination: "u***@x.com",
  address: "u@x.com",
  createdAt: T0,
  ...patch,
});

describe("MemoryStore.reserveSend", () => {
  it("opens the window with the first send and keeps it until the maximum", async () => {
    const store = new MemoryStore();
    expect(await send(store, T0)).toEqual({ ok: true, windowEnd: T0 + 60_000 });
    expect(await send(store, T0 + 10_000)).toEqual({ ok: true, windowEnd: T0 + 60_000 });
  });

  it("restarts the wait from the send that reaches the maximum, then refuses until it ends", async () => {
    const store = new MemoryStore();
    await send(store, T0);
    await send(store, T0 + 1000);
    expect(await send(store, T0 + 2000)).toEqual({ ok: true, windowEnd: T0 + 62_000 });
    expect(await send(store, T0 + 3000)).toEqual({ ok: false, retryAt: T0 + 62_000 });
    expect(await send(store, T0 + 62_000)).toEqual({ ok: true, windowEnd: T0 + 122_000 });
    expect(store.rawState("a", "u")?.sendCount).toBe(1);
  });

  it("starts a new count once the window is over", async () => {
    const store = new MemoryStore();
    await send(store, T0);
    await send(store, T0);
    expect(await send(store, T0 + 60_000)).toEqual({ ok: true, windowEnd: T0 + 120_000 });
    expect(store.rawState("a", "u")?.sendCount).toBe(1);
  });

  it("refuses while the user is locked", async () => {
    const store = new MemoryStore();
    await fail(store, T0, 1);
    expect(await send(store, T0 + 1)).toEqual({ ok: false, lockedUntil: T0 + 60_000 });
  });
});

describe("MemoryStore.releaseSend", () => {
  it("gives back one send of the same window only", async () => {
    const store = new MemoryStore();
    const first = await send(store, T0, 5);
    if (!first.ok) throw new Error("reserved");
    await send(store, T0, 5);
    await store.releaseSend("a", "u", T0 + 1);
    expect(store.rawState("a", "u")?.sendCount).toBe(2);
    await store.releaseSend("a", "u", first.windowEnd);
    expect(store.rawState("a", "u")?.sendCount).toBe(1);
    await store.releaseSend("a", "u", first.windowEnd);
    await store.releaseSend("a", "u", first.windowEnd);
    expect(store.rawState("a", "u")?.sendCount).toBe(0);
  });
});

describe("MemoryStore.reserveAttempt and failAttempt", () => {
  it("refuses a fourth attempt while three are in flight, and locks when they were left over", async () => {
    const store = new MemoryStore();
    const policy = { now: T0, maxVerifyAttempts: 3, lockoutSeconds: 60 };
    for (let i = 1; i <= 3; i++)
      expect(await store.reserveAttempt("a", "u", policy)).toEqual({ ok: true, attempt: i });
    expect(await store.reserveAttempt("a", "u", policy)).toEqual({ ok: false, busy: true });
    await store.releaseAttempt("a", "u", T0);
    expect(await store.reserveAttempt("a", "u", policy)).toEqual({ ok: true, attempt: 3 });
    const later = { ...policy, now: T0 + 31_000 };
    expect(await store.reserveAttempt("a", "u", later)).toEqual({
      ok: false,
      lockedUntil: T0 + 31_000 + 60_000,
      justLocked: true,
    });
  });

  it("counts, locks at the maximum with the count reset, and never counts while locked", async () => {
    const store = new MemoryStore();
    expect(await fail(store, T0)).toEqual({ locked: false, failedAttempts: 1 });
    expect(await fail(store, T0)).toEqual({ locked: false, failedAttempts: 2 });
    expect(await fail(store, T0)).toEqual({ locked: true, lockedUntil: T0 + 60_000 });
    expect(store.rawState("a", "u")).toMatchObject({ failedAttempts: 0, lockedUntil: T0 + 60_000 });
    expect(await fail(store, T0 + 59_999)).toEqual({ locked: true, lockedUntil: T0 + 60_000 });
    expect(store.rawState("a", "u")).toMatchObject({ failedAttempts: 0, lockedUntil: T0 + 60_000 });
    expect(await fail(store, T0 + 60_000)).toEqual({ locked: false, failedAttempts: 1 });
  });
});

describe("MemoryStore.redeemChallenge", () => {
  it("redeems once, only with the right hash, purpose and time", async () => {
    const store = new MemoryStore();
    await store.putChallenge(challenge());
    expect(await store.redeemChallenge("a", "u", "c1", "wrong", T0, ["login"])).toBeUndefined();
    expect(await store.redeemChallenge("a", "u", "c1", "h1", T0, ["activation"])).toBeUndefined();
    expect(await store.redeemChallenge("a", "u", "c1", "h1", T0 + 300_000, ["login"])).toBeUndefined();
    expect(await store.redeemChallenge("a", "other", "c1", "h1", T0, ["login"])).toBeUndefined();
    expect(await store.redeemChallenge("a", "u", "c1", "h1", T0 + 1, ["login"])).toMatchObject({
      usedAt: T0 + 1,
    });
    expect(await store.redeemChallenge("a", "u", "c1", "h1", T0 + 2, ["login"])).toBeUndefined();
  });

  it("refuses a superseded challenge, and cannot supersede a used one", async () => {
    const store = new MemoryStore();
    await store.putChallenge(challenge());
    await store.putChallenge(challenge({ challengeId: "c2" }));
    await store.redeemChallenge("a", "u", "c2", "h1", T0, ["login"]);
    await store.supersedeChallenges("a", "u", ["c1", "c2"], T0 + 5);
    expect(await store.redeemChallenge("a", "u", "c1", "h1", T0 + 6, ["login"])).toBeUndefined();
    const [c1, c2] = store.dump().challenges;
    expect(c1?.supersededAt).toBe(T0 + 5);
    expect(c2).toMatchObject({ usedAt: T0 });
    expect(c2?.supersededAt).toBeUndefined();
  });
});

describe("MemoryStore.approve and recovery codes", () => {
  it("approve refuses while locked and resets the count otherwise", async () => {
    const store = new MemoryStore();
    await fail(store, T0);
    const ok = await store.approve("a", "u", { now: T0, factorId: "f1" });
    expect(ok).toMatchObject({
      ok: true,
      state: { failedAttempts: 0, lastVerifiedAt: T0, lastUsed: { f1: T0 } },
    });
    await fail(store, T0, 1);
    expect(await store.approve("a", "u", { now: T0 + 1 })).toEqual({ ok: false, lockedUntil: T0 + 60_000 });
  });

  it("approve accepts each TOTP step once and only newer ones", async () => {
    const store = new MemoryStore();
    expect((await store.approve("a", "u", { now: T0, totpAt: 10 })).ok).toBe(true);
    expect(await store.approve("a", "u", { now: T0, totpAt: 10 })).toEqual({ ok: false, replayed: true });
    expect(await store.approve("a", "u", { now: T0, totpAt: 9 })).toEqual({ ok: false, replayed: true });
    expect((await store.approve("a", "u", { now: T0, totpAt: 11 })).ok).toBe(true);
  });

  it("activation turns MFA on with the recovery codes once; each code is consumed once", async () => {
    const store = new MemoryStore();
    await store.putFactor(factor(), []);
    await store.putFactor(factor({ factorId: "f2", type: "sms" }), []);
    const now = T0;
    expect(await store.activateFactor(factor(), { now, recoveryCodeHashes: ["r1", "r2"] })).toEqual({
      ok: true,
      turnedMfaOn: true,
    });
    expect(
      await store.activateFactor(factor({ factorId: "f2", type: "sms" }), {
        now,
        recoveryCodeHashes: ["r3"],
      }),
    ).toEqual({ ok: true, turnedMfaOn: false });
    expect(store.rawState("a", "u")?.recoveryCodes).toEqual(new Set(["r1", "r2"]));
    expect(await store.activateFactor(factor({ factorId: "f3" }), { now, recoveryCodeHashes: [] })).toEqual({
      ok: false,
      reason: "factor_exists",
    });

    expect(await store.consumeRecoveryCode("a", "u", "r1", now)).toBe("consumed");
    expect(await store.consumeRecoveryCode("a", "u", "r1", now)).toBe("used");
    expect(await store.consumeRecoveryCode("a", "u", "r9", now)).toBe("no_match");
    await fail(store, now, 1);
    expect(await store.consumeRecoveryCode("a", "u", "r2", now)).toBe("locked");
    expect(store.rawState("a", "u")?.recoveryCodes).toEqual(new Set(["r2"]));
  });

  it("activation refuses while locked, and a replaced factor is gone", async () => {
    const store = new MemoryStore();
    await fail(store, T0, 1);
    await store.putFactor(factor(), []);
    expect(await store.activateFactor(factor(), { now: T0, recoveryCodeHashes: ["r"] })).toEqual({
      ok: false,
      reason: "locked",
      lockedUntil: T0 + 60_000,
    });
    expect(
      await store.activateFactor(factor({ factorId: "gone" }), {
        now: T0 + 60_000,
        recoveryCodeHashes: ["r"],
      }),
    ).toEqual({ ok: false, reason: "factor_gone" });
    expect(store.rawState("a", "u")?.activeFactors).toEqual({});
  });
});

describe("MemoryStore test controls", () => {
  it("failNext makes the next call of that method throw StoreUnavailable, once", async () => {
    const store = new MemoryStore();
    store.failNext("getUserState");
    await expect(store.getUserState("a", "u")).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(store.getUserState("a", "u")).resolves.toBeUndefined();
  });

  it("hands out copies: changing a result does not change the store", async () => {
    const store = new MemoryStore();
    await store.putChallenge(challenge());
    const read = await store.getChallenge("a", "u", "c1");
    if (read) read.usedAt = 1;
    expect((await store.getChallenge("a", "u", "c1"))?.usedAt).toBeUndefined();
  });
});
