import { DomainError } from "./errors.ts";
import type { AuditEvent, Deps } from "./ports.ts";

export const recordAudit = (
  deps: Pick<Deps, "audit" | "clock">,
  event: Omit<AuditEvent, "at">,
): Promise<void> => deps.audit.record({ ...event, at: deps.clock.now() });

/** A refused verification is audited with the error's stable code as its outcome; faults are not outcomes. */
export async function auditDenial<T>(
  deps: Pick<Deps, "audit" | "clock">,
  event: Omit<AuditEvent, "at" | "outcome">,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof DomainError) await recordAudit(deps, { ...event, outcome: error.code });
    throw error;
  }
}
