import { describe, expect, it } from "vitest";
import {
  bodyHashOf,
  decideRepeat,
  type IdempotencyRecord,
  idempotencyKeyHash,
  isIdempotencyKey,
} from "#core/rules/idempotency";

const NOW = Date.UTC(2030, 0, 1);
const record = (over: Partial<IdempotencyRecord<string>> = {}): IdempotencyRecord<string> => ({
  bodyHash: bodyHashOf({ userId: "alice", channel: "email" }),
  token: "t1",
  state: "done",
  response: "first answer",
  expiresAt: NOW + 1,
  inProgressUntil: NOW - 1,
  ...over,
});

describe("idempotency rules", () => {
  it("hashes equal JSON equally, whatever the member order, and different JSON differently", () => {
    const a = bodyHashOf({ userId: "alice", channel: "email", nested: { b: 1, a: [1, { y: 2, x: 1 }] } });
    const b = bodyHashOf({ nested: { a: [1, { x: 1, y: 2 }], b: 1 }, channel: "email", userId: "alice" });
    expect(a).toBe(b);
    expect(bodyHashOf({ userId: "alice", channel: "sms" })).not.toBe(a);
    expect(bodyHashOf([1, 2])).not.toBe(bodyHashOf([2, 1]));
    expect(bodyHashOf({ a: "1" })).not.toBe(bodyHashOf({ a: 1 }));
    expect(bodyHashOf({ a: undefined, b: 1 })).toBe(bodyHashOf({ b: 1 }));
  });

  it("replays a finished first answer to the same body, and nothing else", () => {
    const same = bodyHashOf({ channel: "email", userId: "alice" });
    expect(decideRepeat(record(), same, NOW)).toEqual({ kind: "replay", response: "first answer" });
    expect(decideRepeat(record(), bodyHashOf({ userId: "bob", channel: "email" }), NOW)).toEqual({
      kind: "reused",
    });
    expect(
      decideRepeat(
        record({ state: "in_progress", response: undefined, inProgressUntil: NOW + 1 }),
        same,
        NOW,
      ),
    ).toEqual({ kind: "in_progress" });
  });

  it("treats an expired record or an abandoned claim as free", () => {
    const same = record().bodyHash;
    expect(decideRepeat(record({ expiresAt: NOW }), same, NOW)).toEqual({ kind: "claimable" });
    expect(decideRepeat(record({ state: "in_progress", inProgressUntil: NOW }), same, NOW)).toEqual({
      kind: "claimable",
    });
    // A reused key whose record expired is a new first request, not a reuse.
    expect(decideRepeat(record({ expiresAt: NOW }), "other", NOW)).toEqual({ kind: "claimable" });
  });

  it("accepts 1 to 128 visible ASCII characters as a key, and stores only its hash", () => {
    expect(isIdempotencyKey("a")).toBe(true);
    expect(isIdempotencyKey("~".repeat(128))).toBe(true);
    expect(isIdempotencyKey("550e8400-e29b-41d4-a716-446655440000")).toBe(true);
    for (const bad of ["", " ", "a b", "é", "x".repeat(129), "tab\t", "new\nline"])
      expect(isIdempotencyKey(bad)).toBe(false);
    expect(idempotencyKeyHash("k1")).not.toContain("k1");
    expect(idempotencyKeyHash("k1")).toBe(idempotencyKeyHash("k1"));
  });
});
