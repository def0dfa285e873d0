import { randomBytes } from "node:crypto";
import { keyedHash } from "./codes.ts";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"; // RFC 4648 base32, lowercase
export const RECOVERY_CODE_PATTERN = /^[a-z2-7]{4}-?[a-z2-7]{4}-?[a-z2-7]{4}$/;

/** `xxxx-xxxx-xxxx`: 12 base32 characters = 60 random bits. */
export function generateRecoveryCode(): string {
  const bytes = randomBytes(12);
  let chars = "";
  for (const byte of bytes) chars += ALPHABET[byte & 31];
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
}

export const generateRecoveryCodes = (count: number): string[] =>
  Array.from({ length: count }, generateRecoveryCode);

/** Users type codes with spaces, capitals or without dashes; the stored hash is of the canonical form. */
export function normalizeRecoveryCode(input: string): string | undefined {
  const compact = input.trim().toLowerCase().replace(/[\s-]/g, "");
  if (!/^[a-z2-7]{12}$/.test(compact)) return undefined;
  return `${compact.slice(0, 4)}-${compact.slice(4, 8)}-${compact.slice(8, 12)}`;
}

export const looksLikeRecoveryCode = (input: string): boolean => normalizeRecoveryCode(input) !== undefined;

/** HMAC truncated to 128 bits (the code itself has 60): ten of them keep the user item under 1 KB. */
export const recoveryCodeHash = (pepper: string, appId: string, userId: string, code: string): string =>
  keyedHash(pepper, "recovery", appId, userId, code).slice(0, 32);
