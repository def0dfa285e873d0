import { createHash, createHmac, randomInt, timingSafeEqual } from "node:crypto";

/** A uniformly random numeric code; every digit comes from `crypto.randomInt`, so leading zeros are kept. */
export function generateNumericCode(length: number): string {
  let code = "";
  for (let i = 0; i < length; i++) code += String(randomInt(10));
  return code;
}

/** HMAC-SHA256(pepper, parts joined by `|`), hex. Binding the parts ties a code to its app, user and challenge. */
export function keyedHash(pepper: string, ...parts: string[]): string {
  return createHmac("sha256", pepper).update(parts.join("|")).digest("hex");
}

export const sha256Hex = (value: string): string => createHash("sha256").update(value).digest("hex");

/** Constant-time comparison of two hex digests of equal length. */
export function digestsEqual(a: string, b: string): boolean {
  if (!/^(?:[0-9a-f]{2})+$/i.test(a) || !/^(?:[0-9a-f]{2})+$/i.test(b)) return false;
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The stored form of a one-time code, never the code itself: HMAC truncated to 128 bits, to keep the user item small. */
export const challengeCodeHash = (pepper: string, appId: string, challengeId: string, code: string): string =>
  keyedHash(pepper, "challenge", appId, challengeId, code).slice(0, 32);
