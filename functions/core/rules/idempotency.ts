import { createHash } from "node:crypto";

/** How long a first answer is replayed (API.md: 10 minutes). */
export const IDEMPOTENCY_WINDOW_MS = 10 * 60_000;
/**
 * How long a claim holds while its request runs: longer than any function may run (send's
 * timeout is 15 s), so a running request is never taken over; a crashed one frees its key after it.
 */
export const IN_PROGRESS_MS = 30_000;

/** API.md: 1–128 visible ASCII characters. */
export const isIdempotencyKey = (value: string): boolean => /^[\x21-\x7e]{1,128}$/.test(value);

/** What the store keeps per key: a hash of the request, never the request itself. */
export interface IdempotencyRecord<R> {
  bodyHash: string;
  /** Which request holds the claim, so only it completes or releases it. */
  token: string;
  state: "in_progress" | "done";
  /** The first answer, once there is one. */
  response?: R;
  /** Epoch ms: the record is void from then on. */
  expiresAt: number;
  /** Epoch ms: a claim still in progress then is abandoned (its request crashed or timed out). */
  inProgressUntil: number;
}

export type Repeat<R> =
  | { kind: "replay"; response: R }
  | { kind: "reused" }
  | { kind: "in_progress" }
  /** The record is void (expired, or an abandoned claim): the request runs as a first one. */
  | { kind: "claimable" };

/** What a request with a key that already has a record gets. */
export function decideRepeat<R>(existing: IdempotencyRecord<R>, bodyHash: string, now: number): Repeat<R> {
  if (existing.expiresAt <= now) return { kind: "claimable" };
  if (existing.state === "in_progress" && existing.inProgressUntil <= now) return { kind: "claimable" };
  if (existing.bodyHash !== bodyHash) return { kind: "reused" };
  if (existing.state === "done" && existing.response !== undefined)
    return { kind: "replay", response: existing.response };
  return { kind: "in_progress" };
}

/** The same JSON value always hashes the same, whatever the order of its members or its spacing. */
export function bodyHashOf(body: unknown): string {
  return createHash("sha256").update(canonicalJson(body)).digest("base64url");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const members = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The key as stored: a client's key may be anything it chose, so only its hash is kept. */
export const idempotencyKeyHash = (key: string): string =>
  createHash("sha256").update(key).digest("base64url");
