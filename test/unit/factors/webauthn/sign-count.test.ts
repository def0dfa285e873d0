import { describe, expect, it } from "vitest";
import { acceptSignCount, signCountAdvances } from "#core/factors/webauthn/sign-count";
import { holds } from "../../../support/conditions.ts";

describe("the sign counter rule", () => {
  it("accepts 0 after 0 (no counter) and any larger value; refuses the same or a smaller one", () => {
    expect(signCountAdvances(0, 0)).toBe(true);
    expect(signCountAdvances(0, 1)).toBe(true);
    expect(signCountAdvances(41, 42)).toBe(true);
    expect(signCountAdvances(42, 42)).toBe(false);
    expect(signCountAdvances(42, 7)).toBe(false);
    // a key that counted may not fall back to "no counter"
    expect(signCountAdvances(42, 0)).toBe(false);
  });

  it("stores the new counter only while the stored one is below it", () => {
    const state = (signCount: number) => ({
      factors: { f1: { type: "webauthn", data: { signCount } } },
    });
    const write = acceptSignCount("f1", 8, true);
    expect(write.change.set).toEqual([
      [["factors", "f1", "data", "signCount"], 8],
      [["factors", "f1", "data", "backedUp"], true],
    ]);
    expect(holds(write.condition, state(7))).toBe(true);
    expect(holds(write.condition, state(8))).toBe(false);
    expect(holds(write.condition, state(9))).toBe(false);
    const none = acceptSignCount("f1", 0, false);
    expect(holds(none.condition, state(0))).toBe(true);
    expect(holds(none.condition, state(1))).toBe(false);
  });
});
