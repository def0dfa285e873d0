import { randomBytes } from "node:crypto";

/** Opaque identifiers: a readable prefix and 128 random bits, so ids cannot be guessed or enumerated. */
export const newId = (prefix: string): string => `${prefix}_${randomBytes(16).toString("base64url")}`;
