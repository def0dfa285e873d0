import { generateSync, ScureBase32Plugin } from "otplib";
import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret } from "#core/secret-box";
import { matchTotp, type TotpSettings } from "#core/totp";

const base32 = new ScureBase32Plugin();
const seed = (ascii: string) => base32.encode(new TextEncoder().encode(ascii));
const SHA1_SEED = seed("12345678901234567890");
const SHA256_SEED = seed("12345678901234567890123456789012");
const SHA512_SEED = seed("1234567890123456789012345678901234567890123456789012345678901234");
const generate30 = (t: number) =>
  generateSync({ secret: SHA1_SEED, algorithm: "sha1", digits: 8, period: 30, epoch: t });
const generate60 = (t: number) =>
  generateSync({ secret: SHA1_SEED, algorithm: "sha1", digits: 8, period: 60, epoch: t });
const settings = (algorithm: TotpSettings["algorithm"], digits: 6 | 8 = 8): TotpSettings => ({
  algorithm,
  digits,
  periodSeconds: 30,
  window: 0,
});

describe("RFC 4226 appendix D (HOTP, SHA1, 6 digits)", () => {
  const expected = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
  ];
  it.each(expected.map((code, counter) => [counter, code]))("counter %i gives %s", (counter, code) => {
    expect(generateSync({ strategy: "hotp", secret: SHA1_SEED, counter, digits: 6, algorithm: "sha1" })).toBe(
      code,
    );
  });
});

describe("RFC 6238 appendix B (TOTP, 8 digits) through the service's matcher", () => {
  const cases: [TotpSettings["algorithm"], number, string, string][] = [
    ["SHA1", 59, "94287082", SHA1_SEED],
    ["SHA1", 1111111109, "07081804", SHA1_SEED],
    ["SHA1", 1234567890, "89005924", SHA1_SEED],
    ["SHA1", 20000000000, "65353130", SHA1_SEED],
    ["SHA256", 59, "46119246", SHA256_SEED],
    ["SHA512", 59, "90693936", SHA512_SEED],
  ];
  it.each(cases)("%s at T=%i accepts %s, once", async (algorithm, t, code, secret) => {
    const stepStart = Math.floor(t / 30) * 30;
    expect(await matchTotp(settings(algorithm), secret, code, t * 1000)).toBe(stepStart);
    expect(await matchTotp(settings(algorithm), secret, code, t * 1000, stepStart)).toBeUndefined();
    expect(await matchTotp(settings(algorithm), secret, code, (t + 60) * 1000)).toBeUndefined();
    expect(await matchTotp(settings(algorithm), secret, "0".repeat(8), t * 1000)).toBeUndefined();
  });

  it("accepts one step either side with window 1, not two", async () => {
    const wide = { ...settings("SHA1"), window: 1 };
    expect(await matchTotp(wide, SHA1_SEED, "94287082", (59 + 30) * 1000)).toBe(30);
    expect(await matchTotp(wide, SHA1_SEED, "94287082", (59 + 60) * 1000)).toBeUndefined();
  });

  it("survives a change of period: no error, no reopened code, later codes work", async () => {
    const t = 1_000_000_020; // a code accepted with 30 s steps, then the app switches to 60 s
    const used = await matchTotp(settings("SHA1"), SHA1_SEED, generate30(t), t * 1000);
    expect(used).toBe(Math.floor(t / 30) * 30);
    const sixty = { ...settings("SHA1"), periodSeconds: 60 as const };
    expect(await matchTotp(sixty, SHA1_SEED, generate60(t), t * 1000, used)).toBeUndefined();
    const next = t + 60;
    expect(await matchTotp(sixty, SHA1_SEED, generate60(next), next * 1000, used)).toBe(
      Math.floor(next / 60) * 60,
    );
    // and back: a last step far in the "future" of the new period answers no match, never throws
    expect(await matchTotp(settings("SHA1"), SHA1_SEED, generate30(t), t * 1000, t + 10_000)).toBeUndefined();
  });

  it("refuses codes of the wrong length or with non-digits", async () => {
    expect(await matchTotp(settings("SHA1", 6), SHA1_SEED, "94287082", 59_000)).toBeUndefined();
    expect(await matchTotp(settings("SHA1"), SHA1_SEED, "9428708a", 59_000)).toBeUndefined();
  });
});

describe("TOTP secrets at rest (AES-256-GCM with key id)", () => {
  const secret = {
    pepper: "p".repeat(32),
    encryptionKeys: {
      k1: Buffer.alloc(32, 1).toString("base64"),
      k2: Buffer.alloc(32, 2).toString("base64"),
    },
    currentKeyId: "k2",
  };
  it("round-trips, records the key id, and uses a fresh IV every time", () => {
    const a = encryptSecret("JBSWY3DPEHPK3PXP", secret, "fac_1");
    const b = encryptSecret("JBSWY3DPEHPK3PXP", secret, "fac_1");
    expect(a.keyId).toBe("k2");
    expect(a.data).not.toBe(b.data);
    expect(a.data).not.toContain("JBSWY3DPEHPK3PXP");
    expect(decryptSecret(a, secret, "fac_1")).toBe("JBSWY3DPEHPK3PXP");
  });
  it("still decrypts with an older key after rotation, and never under another factor's id", () => {
    const old = encryptSecret("SECRET", { ...secret, currentKeyId: "k1" }, "fac_1");
    expect(decryptSecret(old, secret, "fac_1")).toBe("SECRET");
    expect(() => decryptSecret(old, secret, "fac_2")).toThrow();
  });
});
