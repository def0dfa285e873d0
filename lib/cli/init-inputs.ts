import { z } from "zod";
import type { JsonObject } from "./admin-types.ts";

// The service's own rules (functions/core/config.ts): checked here too so that `init` refuses a bad
// input before it creates the app, not halfway through.
const emailAddress = z.email();
const E164 = /^\+[1-9]\d{6,14}$/;

/** What is wrong with an email from-address; undefined when nothing is. */
export function fromAddressProblem(value: string): string | undefined {
  if (emailAddress.safeParse(value).success) return undefined;
  return `${JSON.stringify(value)} is not an email address (e.g. mfa@shop.example)`;
}

/** What is wrong with an SMS sender number; undefined when nothing is. */
export function senderProblem(value: string): string | undefined {
  if (E164.test(value)) return undefined;
  return `${JSON.stringify(value)} is not a phone number in E.164: + and 7 to 15 digits, e.g. +14155550100`;
}

/** What is wrong with a Twilio secret, naming fields only: its values are never quoted. */
export function twilioSecretProblem(value: JsonObject): string | undefined {
  const missing = ["accountSid", "authToken"].filter((key) => {
    const field = value[key];
    return typeof field !== "string" || field === "";
  });
  if (missing.length === 0) return undefined;
  return `the Twilio secret needs ${missing.map((key) => `"${key}"`).join(" and ")} as ${missing.length > 1 ? "strings" : "a string"}`;
}
