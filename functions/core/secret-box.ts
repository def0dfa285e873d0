import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { EncryptedValue, ServiceSecret } from "./ports.ts";

/** AES-256-GCM with a fresh 96-bit IV; the key id is stored beside the ciphertext so keys can rotate. */
export function encryptSecret(plaintext: string, secret: ServiceSecret, aad: string): EncryptedValue {
  const key = keyOf(secret, secret.currentKeyId);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return {
    keyId: secret.currentKeyId,
    data: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString("base64"),
  };
}

/** `aad` binds the ciphertext to its factor: a secret copied onto another user's factor does not decrypt. */
export function decryptSecret(value: EncryptedValue, secret: ServiceSecret, aad: string): string {
  const raw = Buffer.from(value.data, "base64");
  const decipher = createDecipheriv("aes-256-gcm", keyOf(secret, value.keyId), raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString(
    "utf8",
  );
}

function keyOf(secret: ServiceSecret, keyId: string): Buffer {
  const encoded = secret.encryptionKeys[keyId];
  if (!encoded) throw new Error(`encryption key ${keyId} is not in the service secret`);
  const key = Buffer.from(encoded, "base64");
  if (key.length !== 32) throw new Error(`encryption key ${keyId} is not 256 bits`);
  return key;
}
