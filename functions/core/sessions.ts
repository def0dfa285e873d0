import { randomBytes } from "node:crypto";
import { sha256Hex } from "./codes.ts";

/** API keys: shown once, stored as SHA-256 and looked up by that hash. */
export const newApiKey = (): string => `otpk_${randomBytes(32).toString("base64url")}`;
export const apiKeyHash = (key: string): string => sha256Hex(key);
