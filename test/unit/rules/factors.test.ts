import { describe, expect, it } from "vitest";
import type { UserState } from "#core/model/user";
import {
  activateFactor,
  activeOfType,
  disableMfa,
  isActive,
  mapEntry,
  pendingExpired,
  provesFactor,
  removeFactor,
  replaceRecoveryCodes,
} from "#core/rules/factors";
import { changeOf, holds, refusedOn } from "../../support/conditions.ts";

const T0 = Date.UTC(2030, 0, 1);
const HASHES = ["r1", "r2", "r3"];
const email = { factorId: "fac_email", type: "email" };
const sms = { factorId: "fac_sms", type: "sms" };

/** A user with MFA on through an active email factor. */
const withEmail = (patch: Partial<UserState> = {}): UserState => ({
  enabled: true,
  factors: { fac_email: { type: "email", lastUsedAt: T0 } },
  recovery: new Set(HASHES),
  recoverySetId: "set1",
  factorsVersion: 1,
  sessionGen: 2,
  ...patch,
});

const activation = (decision: ReturnType<typeof activateFactor>) => {
  if (decision.kind !== "activate") throw new Error(`expected an activation, got ${decision.kind}`);
  return decision;
};

describe("activateFactor", () => {
  it("the first factor turns MFA on with the recovery codes, and counts as a verification", () => {
    const decision = activation(activateFactor(undefined, email, 1, HASHES, T0));
    expect(decision.turnsMfaOn).toBe(true);
    const change = changeOf(decision.write.change);
    expect(change.set).toMatchObject({
      factors: { fac_email: { type: "email", lastUsedAt: T0 } },
      enabled: true,
      attempts: 0,
      verifiedAt: T0,
      recovery: new Set(HASHES),
    });
    expect(change.set.recoverySetId).toEqual(expect.any(String));
    expect(change.remove).toContain("recoveryUsed");
    expect(change.add).toEqual({ factorsVersion: 1 });
    expect(holds(decision.write.condition, undefined)).toBe(true);
  });

  it("a further factor adds itself without new recovery codes and without counting as a verification", () => {
    const state = withEmail();
    const decision = activation(activateFactor(state, sms, 1, ["other"], T0));
    expect(decision.turnsMfaOn).toBe(false);
    const change = changeOf(decision.write.change);
    expect(change.set).toEqual({
      "factors.fac_sms": { type: "sms", lastUsedAt: T0 },
      enabled: true,
      attempts: 0,
    });
    expect(change.remove).toEqual([]);
    expect(holds(decision.write.condition, state)).toBe(true);
  });

  it("refuses a second active factor of a kind that allows one", () => {
    const state = withEmail();
    expect(activateFactor(state, { factorId: "fac_email2", type: "email" }, 1, HASHES, T0)).toEqual({
      kind: "factor_exists",
    });
    expect(activateFactor(state, email, 1, HASHES, T0)).toEqual({ kind: "factor_exists" });
  });

  it("allows as many of a kind as the kind says", () => {
    const state = withEmail();
    expect(activateFactor(state, { factorId: "fac_email2", type: "email" }, 2, HASHES, T0).kind).toBe(
      "activate",
    );
  });

  it("refuses while the user is locked", () => {
    expect(activateFactor({ lockedUntil: T0 + 1 }, email, 1, HASHES, T0)).toEqual({
      kind: "locked",
      until: T0 + 1,
    });
  });

  it("is written on the set of factors it read: a parallel activation or removal makes it a conflict", () => {
    const state = withEmail();
    const { write } = activation(activateFactor(state, sms, 1, HASHES, T0));
    expect(refusedOn(write, { ...state, factorsVersion: 2 })).toBe(true);
    expect(refusedOn(write, { ...state, lockedUntil: T0 + 1 })).toBe(true);

    const { write: first } = activation(activateFactor(undefined, email, 1, HASHES, T0));
    // someone else activated a first factor meanwhile
    expect(refusedOn(first, withEmail({ factors: { fac_sms: { type: "sms" } } }))).toBe(true);
  });
});

describe("removeFactor", () => {
  it("of a factor that is not active changes nothing", () => {
    expect(removeFactor(withEmail(), "fac_pending")).toBeUndefined();
    expect(removeFactor(undefined, "fac_email")).toBeUndefined();
  });

  it("keeps MFA on while another factor stays active", () => {
    const state = withEmail({ factors: { fac_email: { type: "email" }, fac_sms: { type: "sms" } } });
    const write = removeFactor(state, "fac_email");
    if (!write) throw new Error("a write");
    const change = changeOf(write.change);
    expect(change.remove).toEqual(["factors.fac_email"]);
    expect(change.add).toEqual({ factorsVersion: 1 });
    expect(change.set).toEqual({});
    expect(holds(write.condition, state)).toBe(true);
  });

  it("of the last active factor turns MFA off: factors, codes and recovery codes go, and every session ends", () => {
    const state = withEmail({ challenges: {}, totpAt: 10, recoveryUsed: new Set(["r0"]) });
    const write = removeFactor(state, "fac_email");
    if (!write) throw new Error("a write");
    const change = changeOf(write.change);
    expect(change.remove).toEqual(
      expect.arrayContaining([
        "enabled",
        "factors",
        "challenges",
        "recovery",
        "recoveryUsed",
        "recoverySetId",
        "totpAt",
        "sessions",
      ]),
    );
    expect(change.add).toEqual({ sessionGen: 1, factorsVersion: 1 });
    expect(holds(write.condition, state)).toBe(true);
  });

  it("is refused when the factor is gone or the set of factors changed since it was read", () => {
    const state = withEmail();
    const write = removeFactor(state, "fac_email");
    if (!write) throw new Error("a write");
    expect(refusedOn(write, { ...state, factors: {} })).toBe(true);
    expect(refusedOn(write, { ...state, factorsVersion: 2 })).toBe(true);
  });
});

describe("disableMfa", () => {
  it("turns MFA off and ends every session, whatever the state", () => {
    const write = disableMfa();
    const change = changeOf(write.change);
    expect(change.remove).toEqual(
      expect.arrayContaining(["enabled", "factors", "recovery", "challenges", "sessions"]),
    );
    expect(change.add).toMatchObject({ sessionGen: 1 });
    expect(write.condition).toBeUndefined();
  });
});

describe("provesFactor", () => {
  it("records the factor's use", () => {
    expect(changeOf(provesFactor("fac_email", T0).change).set).toEqual({
      "factors.fac_email.lastUsedAt": T0,
    });
    expect(holds(provesFactor("fac_email", T0).condition, withEmail())).toBe(true);
  });

  it("is refused once the factor was removed or MFA turned off", () => {
    const write = provesFactor("fac_email", T0);
    expect(refusedOn(write, withEmail({ factors: { fac_sms: { type: "sms" } } }))).toBe(true);
    expect(refusedOn(write, withEmail({ enabled: undefined }))).toBe(true);
    expect(refusedOn(write, undefined)).toBe(true);
  });
});

describe("replaceRecoveryCodes", () => {
  it("replaces the whole set and forgets the used ones", () => {
    const state = withEmail({ recoveryUsed: new Set(["r0"]) });
    const write = replaceRecoveryCodes(state, ["n1", "n2"], T0);
    const change = changeOf(write.change);
    expect(change.set.recovery).toEqual(new Set(["n1", "n2"]));
    expect(change.set.recoverySetId).not.toBe("set1");
    expect(change.remove).toEqual(["recoveryUsed"]);
    expect(holds(write.condition, state)).toBe(true);
  });

  it("loses to a parallel regeneration, and is refused with MFA off or while locked", () => {
    const state = withEmail();
    const write = replaceRecoveryCodes(state, ["n1"], T0);
    expect(refusedOn(write, { ...state, recoverySetId: "set2" })).toBe(true);
    expect(refusedOn(write, { ...state, enabled: undefined })).toBe(true);
    expect(refusedOn(write, { ...state, lockedUntil: T0 + 1 })).toBe(true);
  });
});

describe("pending factors and lookups", () => {
  it("a pending factor lives one day", () => {
    expect(pendingExpired(T0, T0 + 86_400_000)).toBe(false);
    expect(pendingExpired(T0, T0 + 86_400_001)).toBe(true);
  });

  it("the user item says which factors are active", () => {
    const state = withEmail({ factors: { fac_email: { type: "email" }, fac_sms: { type: "sms" } } });
    expect(isActive(state, "fac_sms")).toBe(true);
    expect(isActive(state, "fac_other")).toBe(false);
    expect(activeOfType(state, "sms")).toEqual(["fac_sms"]);
    expect(activeOfType(undefined, "sms")).toEqual([]);
  });

  it("mapEntry creates the map when the state read had none, else adds one entry", () => {
    expect(mapEntry(undefined, "factors", "f", 1)).toEqual({
      change: { set: [[["factors"], { f: 1 }]] },
      condition: { kind: "absent", path: ["factors"] },
    });
    expect(mapEntry(withEmail(), "factors", "f", 1)).toEqual({
      change: { set: [[["factors", "f"], 1]] },
      condition: { kind: "exists", path: ["factors"] },
    });
  });
});
