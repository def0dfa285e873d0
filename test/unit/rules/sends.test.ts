import { describe, expect, it } from "vitest";
import type { UserState } from "#core/model/user";
import { giveBackSend, reserveSend, type SendDecision } from "#core/rules/sends";
import { changeOf, holds, refusedOn } from "../../support/conditions.ts";

const T0 = Date.UTC(2030, 0, 1);
const policy = { maxCodeRequests: 3, windowSeconds: 60 };

const reserved = (decision: SendDecision) => {
  if (decision.kind !== "reserve") throw new Error(`expected a reservation, got ${decision.kind}`);
  return { windowEnd: decision.windowEnd, set: changeOf(decision.write.change).set, write: decision.write };
};

describe("reserveSend", () => {
  it("opens the window with the first send", () => {
    const first = reserved(reserveSend(undefined, policy, T0));
    expect(first.windowEnd).toBe(T0 + 60_000);
    expect(first.set).toEqual({ sends: 1, sendWindowEnd: T0 + 60_000 });
  });

  it("keeps the window's end while sends remain in it", () => {
    const second = reserved(reserveSend({ sends: 1, sendWindowEnd: T0 + 60_000 }, policy, T0 + 10_000));
    expect(second.set).toEqual({ sends: 2, sendWindowEnd: T0 + 60_000 });
  });

  it("restarts the wait from the send that reaches the maximum", () => {
    const third = reserved(reserveSend({ sends: 2, sendWindowEnd: T0 + 60_000 }, policy, T0 + 20_000));
    expect(third.set).toEqual({ sends: 3, sendWindowEnd: T0 + 80_000 });
  });

  it("refuses the send after the maximum until the wait is over, saying when to retry", () => {
    const full: UserState = { sends: 3, sendWindowEnd: T0 + 80_000 };
    expect(reserveSend(full, policy, T0 + 20_001)).toEqual({ kind: "rate_limited", retryAt: T0 + 80_000 });
    expect(reserveSend(full, policy, T0 + 79_999)).toEqual({ kind: "rate_limited", retryAt: T0 + 80_000 });
  });

  it("starts a new count once the window has ended, whatever the old count was", () => {
    const full: UserState = { sends: 3, sendWindowEnd: T0 + 80_000 };
    const next = reserved(reserveSend(full, policy, T0 + 80_000));
    expect(next.set).toEqual({ sends: 1, sendWindowEnd: T0 + 140_000 });
  });

  it("with a maximum of one, the first send already starts the wait", () => {
    const only = reserved(reserveSend(undefined, { maxCodeRequests: 1, windowSeconds: 30 }, T0));
    expect(only.windowEnd).toBe(T0 + 30_000);
    expect(
      reserveSend(
        { sends: 1, sendWindowEnd: T0 + 30_000 },
        { maxCodeRequests: 1, windowSeconds: 30 },
        T0 + 1,
      ),
    ).toMatchObject({ kind: "rate_limited", retryAt: T0 + 30_000 });
  });

  it("refuses while the user is locked, saying until when", () => {
    expect(reserveSend({ lockedUntil: T0 + 5000 }, policy, T0)).toEqual({ kind: "locked", until: T0 + 5000 });
    expect(reserveSend({ lockedUntil: T0 }, policy, T0).kind).toBe("reserve");
  });

  it("is written only on the count it read: a parallel send makes it decide again (no lost increments)", () => {
    const read: UserState = { sends: 1, sendWindowEnd: T0 + 60_000 };
    const { write } = reserved(reserveSend(read, policy, T0));
    expect(holds(write.condition, read)).toBe(true);
    expect(refusedOn(write, { ...read, sends: 2 })).toBe(true);
    expect(refusedOn(write, { ...read, sendWindowEnd: T0 + 90_000 })).toBe(true);
    expect(refusedOn(write, { ...read, lockedUntil: T0 + 1 })).toBe(true);

    const { write: first } = reserved(reserveSend(undefined, policy, T0));
    expect(holds(first.condition, undefined)).toBe(true);
    expect(refusedOn(first, { sends: 1, sendWindowEnd: T0 + 60_000 })).toBe(true);
  });
});

describe("giveBackSend", () => {
  it("takes back one send of the same window", () => {
    const write = giveBackSend(T0 + 60_000);
    expect(changeOf(write.change).add).toEqual({ sends: -1 });
    expect(holds(write.condition, { sends: 2, sendWindowEnd: T0 + 60_000 })).toBe(true);
  });

  it("takes nothing from another window, and never goes below zero", () => {
    const write = giveBackSend(T0 + 60_000);
    expect(refusedOn(write, { sends: 2, sendWindowEnd: T0 + 120_000 })).toBe(true);
    expect(refusedOn(write, { sends: 0, sendWindowEnd: T0 + 60_000 })).toBe(true);
    expect(refusedOn(write, undefined)).toBe(true);
  });
});
