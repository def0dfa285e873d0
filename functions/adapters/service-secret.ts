import { hkdfSync } from "node:crypto";
import type { ServiceSecret } from "#core/ports";

/**
 * The service secret is JSON `{ pepper, encryptionKeys?, currentKeyId? }`. A secret that
 * CloudFormation generated holds only the pepper; its TOTP key is then derived from it
 * (HKDF-SHA256) under key id `derived-1`, and admins may add explicit keys to rotate.
 */
export function parseServiceSecret(text: string): ServiceSecret {
  const value = JSON.parse(text) as Partial<ServiceSecret>;
  if (typeof value.pepper !== "string" || value.pepper.length < 32) {
    throw new Error("service secret: pepper missing or shorter than 32 characters");
  }
  const derived = Buffer.from(
    hkdfSync("sha256", value.pepper, "otp-service", "totp-encryption", 32),
  ).toString("base64");
  const encryptionKeys: Record<string, string> = { "derived-1": derived, ...(value.encryptionKeys ?? {}) };
  const currentKeyId = value.currentKeyId ?? "derived-1";
  if (!encryptionKeys[currentKeyId]) throw new Error("service secret: currentKeyId names no key");
  return { pepper: value.pepper, encryptionKeys, currentKeyId };
}
