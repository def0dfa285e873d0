import { describe, expect, it } from "vitest";
import {
  generateRecoveryCode,
  generateRecoveryCodes,
  looksLikeRecoveryCode,
  normalizeRecoveryCode,
  RECOVERY_CODE_PATTERN,
  recoveryCodeHash,
} from "#core/recovery";

const FORMAT = /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/;
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

describe("generateRecoveryCode", () => {
  const codes = Array.from({ length: 20_000 }, generateRecoveryCode);

  it("has the format xxxx-xxxx-xxxx in lowercase base32", () => {
    expect(codes.filter((c) => !FORMAT.test(c))).toEqual([]);
    expect(codes.every((c) => RECOVERY_CODE_PATTERN.test(c))).toBe(true);
  });

  it("carries 60 random bits: 12 characters, each using all 32 base32 symbols", () => {
    const symbols = codes.map((c) => c.replaceAll("-", ""));
    expect(symbols.every((s) => s.length === 12)).toBe(true);
    for (let position = 0; position < 12; position++) {
      const seen = new Set(symbols.map((s) => s[position]));
      expect([...seen].sort().join("")).toBe([...BASE32].sort().join(""));
    }
  });

  it("draws symbols uniformly (chi-square over all positions, 31 df, p = 1e-5)", () => {
    const counts = new Map<string, number>();
    for (const code of codes)
      for (const ch of code.replaceAll("-", "")) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    const total = codes.length * 12;
    const expected = total / 32;
    const chi = [...BASE32].reduce((sum, ch) => sum + ((counts.get(ch) ?? 0) - expected) ** 2 / expected, 0);
    expect(chi).toBeLessThan(76.56); // chi-square critical value, 31 df, p = 1e-5
  });

  it("does not repeat", () => {
    expect(new Set(codes).size).toBe(codes.length);
  });

  it("makes as many codes as asked, all different", () => {
    const set = generateRecoveryCodes(20);
    expect(set).toHaveLength(20);
    expect(new Set(set).size).toBe(20);
  });
});

describe("normalizeRecoveryCode", () => {
  it("keeps a canonical code as it is", () => {
    expect(normalizeRecoveryCode("abcd-efgh-2345")).toBe("abcd-efgh-2345");
  });

  it("accepts upper case, missing dashes and surrounding or inner spaces", () => {
    expect(normalizeRecoveryCode("ABCD-EFGH-2345")).toBe("abcd-efgh-2345");
    expect(normalizeRecoveryCode("abcdefgh2345")).toBe("abcd-efgh-2345");
    expect(normalizeRecoveryCode("  AbCd EfGh 2345 ")).toBe("abcd-efgh-2345");
  });

  it("refuses anything that is not 12 base32 characters", () => {
    for (const input of [
      "",
      "123456",
      "abcd-efgh-234",
      "abcd-efgh-23456",
      "abcd-efgh-2341",
      "abcd-efgh-234!",
    ]) {
      expect(normalizeRecoveryCode(input)).toBeUndefined();
      expect(looksLikeRecoveryCode(input)).toBe(false);
    }
  });

  it("is the inverse of the generator's format", () => {
    for (const code of generateRecoveryCodes(50)) {
      expect(normalizeRecoveryCode(code.toUpperCase().replaceAll("-", ""))).toBe(code);
    }
  });
});

describe("recoveryCodeHash", () => {
  it("is bound to the app and the user and never contains the code", () => {
    const hash = recoveryCodeHash("pepper", "app1", "alice", "abcd-efgh-2345");
    expect(hash).toMatch(/^[0-9a-f]{32}$/);
    expect(hash).not.toContain("abcd");
    expect(recoveryCodeHash("pepper", "app1", "alice", "abcd-efgh-2345")).toBe(hash);
    expect(recoveryCodeHash("pepper", "app2", "alice", "abcd-efgh-2345")).not.toBe(hash);
    expect(recoveryCodeHash("pepper", "app1", "bob", "abcd-efgh-2345")).not.toBe(hash);
    expect(recoveryCodeHash("other", "app1", "alice", "abcd-efgh-2345")).not.toBe(hash);
  });
});
