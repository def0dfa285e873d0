import { describe, expect, it } from "vitest";
import type { UserState } from "#core/model/user";
import {
  afterLockRefused,
  afterWrongCode,
  approveAttempt,
  giveBackAttempt,
  IN_FLIGHT_MS,
  reserveAttempt,
  unlock,
  whyReserveRefused,
} from "#core/rules/attempts";
import { changeOf, holds, refusedOn } from "../../support/conditions.ts";

const T0 = Date.UTC(2030, 0, 1);
const policy = { maxVerifyAttempts: 3, lockoutSeconds: 60 };

describe("reserveAttempt", () => {
  it("counts the attempt and stamps its time before any comparison", () => {
    expect(changeOf(reserveAttempt(policy, T0).change)).toMatchObject({
      add: { attempts: 1 },
      set: { lastAttemptAt: T0 },
    });
  });

  it("is allowed for a user never seen, and while attempts remain", () => {
    const write = reserveAttempt(policy, T0);
    expect(holds(write.condition, undefined)).toBe(true);
    expect(holds(write.condition, {})).toBe(true);
    expect(holds(write.condition, { attempts: 0 })).toBe(true);
    expect(holds(write.condition, { attempts: 2 })).toBe(true);
  });

  it("is refused once every allowed attempt is taken", () => {
    const write = reserveAttempt(policy, T0);
    expect(refusedOn(write, { attempts: 3 })).toBe(true);
    expect(refusedOn(write, { attempts: 4 })).toBe(true);
    expect(refusedOn(reserveAttempt({ ...policy, maxVerifyAttempts: 5 }, T0), { attempts: 4 })).toBe(false);
  });

  it("is refused while the user is locked, and allowed from the moment the lock ends", () => {
    expect(refusedOn(reserveAttempt(policy, T0), { lockedUntil: T0 + 1, attempts: 0 })).toBe(true);
    expect(refusedOn(reserveAttempt(policy, T0), { lockedUntil: T0, attempts: 0 })).toBe(false);
    expect(refusedOn(reserveAttempt(policy, T0), { lockedUntil: T0 - 1 })).toBe(false);
  });
});

describe("whyReserveRefused", () => {
  const full = (lastAttemptAt: number): UserState => ({ attempts: 3, lastAttemptAt });

  it("says locked, with the stored end of the lock, while the user is locked", () => {
    expect(whyReserveRefused({ lockedUntil: T0 + 5000, attempts: 0 }, policy, T0)).toEqual({
      kind: "locked",
      until: T0 + 5000,
    });
  });

  it("says busy while the attempts were taken less than 30 s ago: one of them may be right, so no lock", () => {
    expect(IN_FLIGHT_MS).toBe(30_000);
    expect(whyReserveRefused(full(T0), policy, T0)).toEqual({ kind: "busy" });
    expect(whyReserveRefused(full(T0 - 29_999), policy, T0)).toEqual({ kind: "busy" });
  });

  it("says abandoned after 30 s and locks for lockoutSeconds from now, with the count restarted", () => {
    const why = whyReserveRefused(full(T0 - 30_000), policy, T0);
    expect(why).toMatchObject({ kind: "abandoned", until: T0 + 60_000 });
    if (why.kind !== "abandoned") throw new Error("abandoned");
    expect(changeOf(why.lock.change).set).toEqual({ lockedUntil: T0 + 60_000, attempts: 0 });
  });

  it("an ended lock is no reason: an abandoned count after it locks again", () => {
    const state = { ...full(T0 - 60_000), lockedUntil: T0 - 1 };
    expect(whyReserveRefused(state, policy, T0)).toMatchObject({ kind: "abandoned" });
  });

  it("locks for abandoned attempts only on the state it saw: not after a new attempt, a success or another lock", () => {
    const seen = full(T0 - 40_000);
    const why = whyReserveRefused(seen, policy, T0);
    if (why.kind !== "abandoned") throw new Error("abandoned");
    expect(holds(why.lock.condition, seen)).toBe(true);
    // someone reserved (and so stamped) meanwhile
    expect(refusedOn(why.lock, { ...seen, lastAttemptAt: T0 - 1 })).toBe(true);
    // a success reset the count
    expect(refusedOn(why.lock, { ...seen, attempts: 0 })).toBe(true);
    // someone else locked first
    expect(refusedOn(why.lock, { ...seen, lockedUntil: T0 + 10 })).toBe(true);
  });

  it("locks a user whose attempts were never stamped (absent lastAttemptAt)", () => {
    const why = whyReserveRefused({ attempts: 3 }, policy, T0);
    if (why.kind !== "abandoned") throw new Error("abandoned");
    expect(holds(why.lock.condition, { attempts: 3 })).toBe(true);
  });
});

describe("afterWrongCode", () => {
  it("keeps the attempt counted and says how many remain", () => {
    expect(afterWrongCode({ attempts: 1 }, policy, T0)).toEqual({ kind: "counted", attemptsRemaining: 2 });
    expect(afterWrongCode({ attempts: 2 }, policy, T0)).toEqual({ kind: "counted", attemptsRemaining: 1 });
  });

  it("locks on the last allowed attempt, for lockoutSeconds, restarting the count", () => {
    const outcome = afterWrongCode({ attempts: 3 }, policy, T0);
    expect(outcome).toMatchObject({ kind: "lock", until: T0 + 60_000 });
    if (outcome.kind !== "lock") throw new Error("lock");
    expect(changeOf(outcome.lock.change).set).toEqual({ lockedUntil: T0 + 60_000, attempts: 0 });
    expect(holds(outcome.lock.condition, { attempts: 3 })).toBe(true);
  });

  it("does not lock over a lock already written, nor after a success reset the count", () => {
    const outcome = afterWrongCode({ attempts: 3 }, policy, T0);
    if (outcome.kind !== "lock") throw new Error("lock");
    expect(refusedOn(outcome.lock, { attempts: 0, lockedUntil: T0 + 30_000 })).toBe(true);
    expect(refusedOn(outcome.lock, { attempts: 0 })).toBe(true);
    expect(refusedOn(outcome.lock, { attempts: 1 })).toBe(true);
  });

  it("follows the app's maxVerifyAttempts and lockoutSeconds", () => {
    const strict = { maxVerifyAttempts: 1, lockoutSeconds: 5 };
    expect(afterWrongCode({ attempts: 1 }, strict, T0)).toMatchObject({ kind: "lock", until: T0 + 5000 });
  });
});

describe("afterLockRefused", () => {
  it("answers the other request's lock when someone locked first", () => {
    expect(afterLockRefused({ lockedUntil: T0 + 9000, attempts: 0 }, policy, T0)).toEqual({
      kind: "locked",
      until: T0 + 9000,
    });
  });

  it("answers what the stored count leaves after a success reset it, never zero remaining without a lock", () => {
    expect(afterLockRefused({ attempts: 0 }, policy, T0)).toEqual({ kind: "counted", attemptsRemaining: 3 });
    expect(afterLockRefused({ attempts: 1 }, policy, T0)).toEqual({ kind: "counted", attemptsRemaining: 2 });
    expect(afterLockRefused({ attempts: 7 }, policy, T0)).toEqual({ kind: "counted", attemptsRemaining: 1 });
    expect(afterLockRefused(undefined, policy, T0)).toEqual({ kind: "counted", attemptsRemaining: 3 });
  });
});

describe("giveBackAttempt", () => {
  it("takes one attempt back", () => {
    expect(changeOf(giveBackAttempt(T0).change).add).toEqual({ attempts: -1 });
    expect(holds(giveBackAttempt(T0).condition, { attempts: 1 })).toBe(true);
  });

  it("never takes the count below zero (a success or a lock reset it meanwhile)", () => {
    expect(refusedOn(giveBackAttempt(T0), { attempts: 0 })).toBe(true);
    expect(refusedOn(giveBackAttempt(T0), {})).toBe(true);
  });

  it("gives nothing back while the user is locked", () => {
    expect(refusedOn(giveBackAttempt(T0), { attempts: 1, lockedUntil: T0 + 1 })).toBe(true);
  });
});

describe("approveAttempt", () => {
  it("restarts the count and records the verification step-up rests on", () => {
    expect(changeOf(approveAttempt(T0).change).set).toEqual({ attempts: 0, verifiedAt: T0 });
  });

  it("does not record a verification when it must not count as one (activating a further factor)", () => {
    expect(changeOf(approveAttempt(T0, false).change).set).toEqual({ attempts: 0 });
  });

  it("is refused while the user is locked, even with a right code", () => {
    expect(refusedOn(approveAttempt(T0), { lockedUntil: T0 + 1 })).toBe(true);
    expect(refusedOn(approveAttempt(T0), { lockedUntil: T0, attempts: 2 })).toBe(false);
  });
});

describe("unlock", () => {
  it("ends the lock at once and restarts the count, whatever the state", () => {
    const write = unlock();
    expect(changeOf(write.change)).toMatchObject({ set: { attempts: 0 }, remove: ["lockedUntil"] });
    expect(write.condition).toBeUndefined();
  });
});
