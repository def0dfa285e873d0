import { randomBytes } from "node:crypto";
import { sha256Hex } from "./codes.ts";

/** 256 random bits; only its SHA-256 is stored, so a table dump cannot be replayed as sessions. */
export const newSessionToken = (): string => `otps_${randomBytes(32).toString("base64url")}`;
export const sessionTokenHash = (token: string): string => sha256Hex(token);

/** API keys: shown once, stored as SHA-256 and looked up by that hash. */
export const newApiKey = (): string => `otpk_${randomBytes(32).toString("base64url")}`;
export const apiKeyHash = (key: string): string => sha256Hex(key);
