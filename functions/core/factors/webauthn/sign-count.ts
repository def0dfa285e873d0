import { cmp, eq, type StateWrite } from "../../model/state-write.ts";

/**
 * WebAuthn §6.1.1: an authenticator that keeps a signature counter sends a larger one each
 * time; 0 on both sides means it keeps none. Anything else (the same or a smaller value) can
 * be a cloned authenticator: refused (SECURITY rule 39).
 */
export const signCountAdvances = (stored: number, received: number): boolean =>
  (stored === 0 && received === 0) || received > stored;

const signCountPath = (factorId: string) => ["factors", factorId, "data", "signCount"];

/**
 * Part of the approving write: the new counter is stored only while the stored one is still
 * below it (a counter-less key: still 0), so two approvals can never both rest on one value.
 */
export const acceptSignCount = (factorId: string, received: number, backedUp: boolean): StateWrite => ({
  change: {
    set: [
      [signCountPath(factorId), received],
      [["factors", factorId, "data", "backedUp"], backedUp],
    ],
  },
  condition: received === 0 ? eq(signCountPath(factorId), 0) : cmp(signCountPath(factorId), "<", received),
});
