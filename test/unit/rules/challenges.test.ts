import { describe, expect, it } from "vitest";
import type { ChallengeSlot, UserState } from "#core/model/user";
import {
  findSlot,
  issuedChallengeId,
  newChallengeId,
  newerHoldsSlot,
  registerChallenge,
  slotExpired,
  slotKey,
  spendChallenge,
  VERIFICATION_PURPOSES,
} from "#core/rules/challenges";
import { changeOf, holds, refusedOn } from "../../support/conditions.ts";

const T0 = Date.UTC(2030, 0, 1);
const PEPPER = "rules-test-pepper";

const slot = (patch: Partial<ChallengeSlot> = {}): ChallengeSlot => ({
  id: "ch_one",
  hash: "h1",
  factorId: "fac_email",
  channel: "email",
  purpose: "login",
  destination: "a***@example.com",
  createdAt: T0,
  expiresAt: T0 + 300_000,
  ...patch,
});

describe("slotKey", () => {
  it("gives each purpose one slot, and activation one per factor type", () => {
    expect(slotKey("login", "sms")).toBe("login");
    expect(slotKey("login", "email")).toBe("login");
    expect(slotKey("step_up", "email")).toBe("step_up");
    expect(slotKey("activation", "sms")).toBe("activation_sms");
    expect(slotKey("activation", "email")).toBe("activation_email");
  });
});

describe("challenge ids", () => {
  it("are recognised as issued to their own app and user", () => {
    const id = newChallengeId(PEPPER, "app1", "alice", "login");
    expect(id).toMatch(/^ch_[A-Za-z0-9_-]{34}$/);
    expect(issuedChallengeId(PEPPER, "app1", "alice", VERIFICATION_PURPOSES, id)).toBe(true);
  });

  it("are never twice the same", () => {
    const ids = new Set(Array.from({ length: 100 }, () => newChallengeId(PEPPER, "app1", "alice", "login")));
    expect(ids.size).toBe(100);
  });

  it("are not recognised for another user, another app, or under another pepper", () => {
    const id = newChallengeId(PEPPER, "app1", "alice", "login");
    expect(issuedChallengeId(PEPPER, "app1", "bob", VERIFICATION_PURPOSES, id)).toBe(false);
    expect(issuedChallengeId(PEPPER, "app2", "alice", VERIFICATION_PURPOSES, id)).toBe(false);
    expect(issuedChallengeId("another-pepper", "app1", "alice", VERIFICATION_PURPOSES, id)).toBe(false);
  });

  it("of an activation are not recognised as login ids, nor the other way round", () => {
    const activation = newChallengeId(PEPPER, "app1", "alice", "activation");
    const login = newChallengeId(PEPPER, "app1", "alice", "login");
    expect(issuedChallengeId(PEPPER, "app1", "alice", VERIFICATION_PURPOSES, activation)).toBe(false);
    expect(issuedChallengeId(PEPPER, "app1", "alice", ["activation"], activation)).toBe(true);
    expect(issuedChallengeId(PEPPER, "app1", "alice", ["activation"], login)).toBe(false);
    // every verification purpose shares one class: a step-up id may be tried as a login id
    const stepUp = newChallengeId(PEPPER, "app1", "alice", "step_up");
    expect(issuedChallengeId(PEPPER, "app1", "alice", ["login"], stepUp)).toBe(true);
  });

  it("that were tampered with or made up are not recognised", () => {
    const id = newChallengeId(PEPPER, "app1", "alice", "login");
    const flipped = `${id.slice(0, 5)}${id[5] === "A" ? "B" : "A"}${id.slice(6)}`;
    for (const bad of [flipped, `${id}x`, id.slice(0, -1), "ch_nope", "", "ch_", id.replace("ch_", "cx_")]) {
      expect({ bad, issued: issuedChallengeId(PEPPER, "app1", "alice", VERIFICATION_PURPOSES, bad) }).toEqual(
        {
          bad,
          issued: false,
        },
      );
    }
  });
});

describe("registerChallenge", () => {
  it("creates the map of slots for a user who has none, unless someone else just did", () => {
    const write = registerChallenge(undefined, "login", slot());
    expect(changeOf(write.change).set).toEqual({ challenges: { login: slot() } });
    expect(holds(write.condition, undefined)).toBe(true);
    expect(holds(write.condition, { attempts: 1 })).toBe(true);
    expect(refusedOn(write, { challenges: {} })).toBe(true);
  });

  it("a newer code replaces the current one of its slot, leaving other slots alone", () => {
    const state: UserState = {
      challenges: { login: slot(), step_up: slot({ id: "ch_step", purpose: "step_up" }) },
    };
    const newer = slot({ id: "ch_two", createdAt: T0 + 1000 });
    const write = registerChallenge(state, "login", newer);
    expect(changeOf(write.change).set).toEqual({ "challenges.login": newer });
    expect(holds(write.condition, state)).toBe(true);
  });

  it("fills an empty slot beside others", () => {
    const state: UserState = { challenges: { step_up: slot({ purpose: "step_up" }) } };
    expect(holds(registerChallenge(state, "login", slot()).condition, state)).toBe(true);
  });

  it("newest wins: a code created earlier never replaces a newer one that got there first", () => {
    const state: UserState = { challenges: { login: slot({ id: "ch_new", createdAt: T0 + 5000 }) } };
    const older = slot({ id: "ch_old", createdAt: T0 });
    const write = registerChallenge({ challenges: {} }, "login", older);
    expect(refusedOn(write, state)).toBe(true);
    expect(newerHoldsSlot(state, "login", older)).toBe(true);
    // refused for another reason (the map changed), it is decided again rather than given up
    expect(newerHoldsSlot({ challenges: { login: slot({ createdAt: T0 - 1 }) } }, "login", older)).toBe(
      false,
    );
    expect(newerHoldsSlot(undefined, "login", older)).toBe(false);
  });
});

describe("findSlot", () => {
  const state: UserState = {
    challenges: {
      login: slot({ id: "ch_login" }),
      activation_sms: slot({ id: "ch_act", purpose: "activation", channel: "sms" }),
    },
  };

  it("finds a current code by its id among the purposes asked for", () => {
    expect(findSlot(state, "ch_login", VERIFICATION_PURPOSES)?.[0]).toBe("login");
    expect(findSlot(state, "ch_act", ["activation"])?.[0]).toBe("activation_sms");
  });

  it("does not find an activation code for a login, an unknown id, or anything for a user with no codes", () => {
    expect(findSlot(state, "ch_act", VERIFICATION_PURPOSES)).toBeUndefined();
    expect(findSlot(state, "ch_gone", VERIFICATION_PURPOSES)).toBeUndefined();
    expect(findSlot(undefined, "ch_login", VERIFICATION_PURPOSES)).toBeUndefined();
  });
});

describe("slotExpired", () => {
  it("a code is good until just before its expiry, not at it", () => {
    expect(slotExpired(slot(), T0 + 300_000 - 1)).toBe(false);
    expect(slotExpired(slot(), T0 + 300_000)).toBe(true);
  });
});

describe("spendChallenge", () => {
  it("removes the code from its slot, so it approves once", () => {
    const write = spendChallenge("login", slot(), T0);
    expect(changeOf(write.change).remove).toEqual(["challenges.login"]);
    expect(holds(write.condition, { challenges: { login: slot() } })).toBe(true);
  });

  it("is refused once the code was spent or superseded", () => {
    const write = spendChallenge("login", slot(), T0);
    expect(refusedOn(write, { challenges: {} })).toBe(true);
    expect(refusedOn(write, {})).toBe(true);
    expect(refusedOn(write, { challenges: { login: slot({ id: "ch_newer" }) } })).toBe(true);
  });

  it("is refused once the code expired, even if it was checked just before (a slow provider)", () => {
    const late = spendChallenge("login", slot(), T0 + 300_000);
    expect(refusedOn(late, { challenges: { login: slot() } })).toBe(true);
  });
});
