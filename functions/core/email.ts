import { DomainError } from "./errors.ts";
import { maskEmail } from "./mask.ts";
import * as z from "./schema.ts";

const emailSchema = z.email().check(z.maxLength(254));

export function parseEmail(input: string): { address: string; masked: string } {
  const address = input.trim();
  if (!emailSchema.safeParse(address).success) {
    throw new DomainError("invalid_email", "The email address is not valid.", {
      errors: [{ path: "email", message: "not a valid email address" }],
    });
  }
  return { address, masked: maskEmail(address) };
}
