import { isDeepStrictEqual } from "node:util";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { expect, it } from "vitest";
import { keys } from "#adapters/dynamodb-items";
import { DynamoStore } from "#adapters/dynamodb-store";
import type { StateWrite } from "#core/model/state-write";
import type { ChallengeSlot, UserState } from "#core/model/user";
import {
  afterWrongCode,
  approveAttempt,
  giveBackAttempt,
  reserveAttempt,
  whyReserveRefused,
} from "#core/rules/attempts";
import { registerChallenge, spendChallenge } from "#core/rules/challenges";
import { activateFactor, provesFactor, removeFactor, replaceRecoveryCodes } from "#core/rules/factors";
import { giveBackSend, reserveSend } from "#core/rules/sends";
import { holds } from "../support/conditions.ts";
import { describeEachEmulator } from "../support/dynamodb.ts";

/**
 * The store's own test, on dynalite (what `npm start` runs) and on AWS's DynamoDB Local (so an
 * emulator quirk cannot hide what DynamoDB does). The pure rule tests (test/unit/rules) read
 * conditions with `holds`; here the real adapter writes every rule's change on a range of
 * stored states: it must be accepted exactly when `holds` says so, and a refused write must
 * bring back the item as it stood (DynamoDB Local returns it with the refusal; dynalite does
 * not, and the adapter reads it).
 */

const T0 = Date.UTC(2030, 0, 1);
const attempts = { maxVerifyAttempts: 3, lockoutSeconds: 60 };
const sends = { maxCodeRequests: 3, windowSeconds: 60 };
const slot = (id: string, createdAt: number): ChallengeSlot => ({
  id,
  hash: "h",
  factorId: "f",
  channel: "email",
  purpose: "login",
  destination: "d",
  createdAt,
  expiresAt: createdAt + 1000,
});

const STATES: Array<UserState | undefined> = [
  undefined,
  {},
  { attempts: 0 },
  { attempts: 2 },
  { attempts: 3, lastAttemptAt: T0 - 40_000 },
  { attempts: 3, lastAttemptAt: T0 },
  { lockedUntil: T0 + 1, attempts: 0 },
  { lockedUntil: T0, attempts: 3 },
  { sends: 1, sendWindowEnd: T0 + 60_000 },
  { sends: 0, sendWindowEnd: T0 + 60_000 },
  { challenges: {} },
  { challenges: { login: slot("a", T0) } },
  { challenges: { login: slot("b", T0 + 5) } },
  {
    enabled: true,
    factors: { f: { type: "email" } },
    factorsVersion: 1,
    recovery: new Set(["r1"]),
    recoverySetId: "s1",
  },
  {
    enabled: true,
    factors: { f: { type: "email" }, g: { type: "sms" } },
    factorsVersion: 2,
    recoverySetId: "s2",
  },
];

/** The write a decision carries (`write`, or `lock` for the lock decisions). */
function writeOf(decision: { kind: string }): StateWrite {
  if ("write" in decision) return decision.write as StateWrite;
  if ("lock" in decision) return decision.lock as StateWrite;
  throw new Error(`no write in ${decision.kind}`);
}

const WRITES: Record<string, StateWrite | undefined> = {
  reserveAttempt: reserveAttempt(attempts, T0),
  giveBackAttempt: giveBackAttempt(T0),
  approveAttempt: approveAttempt(T0),
  lockAbandoned: writeOf(whyReserveRefused({ attempts: 3, lastAttemptAt: T0 - 40_000 }, attempts, T0)),
  lockAfterWrongCode: writeOf(afterWrongCode({ attempts: 3 }, attempts, T0)),
  firstSend: writeOf(reserveSend(undefined, sends, T0)),
  secondSend: writeOf(reserveSend({ sends: 1, sendWindowEnd: T0 + 60_000 }, sends, T0)),
  giveBackSend: giveBackSend(T0 + 60_000),
  registerFirstChallenge: registerChallenge(undefined, "login", slot("c", T0 + 1)),
  registerChallenge: registerChallenge({ challenges: {} }, "login", slot("c", T0 + 1)),
  spendChallenge: spendChallenge("login", slot("a", T0), T0),
  activateFirstFactor: writeOf(activateFactor(undefined, { factorId: "f", type: "email" }, 1, ["r"], T0)),
  activateSecondFactor: writeOf(
    activateFactor(
      { enabled: true, factors: { f: { type: "email" } }, factorsVersion: 1 },
      { factorId: "g", type: "sms" },
      1,
      ["r"],
      T0,
    ),
  ),
  removeLastFactor: removeFactor(
    { enabled: true, factors: { f: { type: "email" } }, factorsVersion: 1 },
    "f",
  ),
  provesFactor: provesFactor("f", T0),
  replaceRecoveryCodes: replaceRecoveryCodes({ enabled: true, recoverySetId: "s1" }, ["x"], T0),
};

describeEachEmulator("the store's conditional writes", (db) => {
  it("hold on exactly the stored states the pure rule tests say they hold on, and a refusal returns the stored item", async () => {
    const store = new DynamoStore(db.documents, { tableName: db.tableName });
    const cases = Object.entries(WRITES).flatMap(([name, write]) =>
      STATES.map((state, index) => ({ name, write, state, index })),
    );
    const outcomes: { name: string; state: number; dynamo: boolean; rule: boolean; returned: boolean }[] = [];
    // in batches: the SDK keeps at most 50 sockets
    for (let start = 0; start < cases.length; start += 40) {
      const batch = cases.slice(start, start + 40).map(async ({ name, write, state, index }) => {
        if (!write) throw new Error(`${name} made no write`);
        const userId = `${name}-${index}`;
        if (state) {
          await db.documents.send(
            new PutCommand({ TableName: db.tableName, Item: { ...keys.state("app", userId), ...state } }),
          );
        }
        const result = await store.writeUserState("app", userId, write);
        // a refusal hands back the item as stored (absent stays absent)
        const returned = result.ok || isDeepStrictEqual(result.state, state);
        return { name, state: index, dynamo: result.ok, rule: holds(write.condition, state), returned };
      });
      outcomes.push(...(await Promise.all(batch)));
    }
    expect(outcomes.filter((o) => o.dynamo !== o.rule)).toEqual([]);
    expect(outcomes.filter((o) => !o.returned)).toEqual([]);
    // the cases are not all one way
    expect(outcomes.filter((o) => o.dynamo).length).toBeGreaterThan(20);
    expect(outcomes.filter((o) => !o.dynamo).length).toBeGreaterThan(20);
  });

  it("100 parallel reservations take exactly maxVerifyAttempts attempts; 100 parallel spends of one code, one", async () => {
    const store = new DynamoStore(db.documents, { tableName: db.tableName });
    const reservations = await Promise.all(
      Array.from({ length: 100 }, () => store.writeUserState("app", "burst", reserveAttempt(attempts, T0))),
    );
    expect(reservations.filter((r) => r.ok)).toHaveLength(attempts.maxVerifyAttempts);
    await db.documents.send(
      new PutCommand({
        TableName: db.tableName,
        Item: { ...keys.state("app", "spend"), challenges: { login: slot("a", T0) } },
      }),
    );
    const spends = await Promise.all(
      Array.from({ length: 100 }, () =>
        store.writeUserState("app", "spend", spendChallenge("login", slot("a", T0), T0)),
      ),
    );
    expect(spends.filter((r) => r.ok)).toHaveLength(1);
    // every loser is told why: the slot is gone in the item it got back
    expect(spends.filter((r) => !r.ok).every((r) => r.state?.challenges?.login === undefined)).toBe(true);
  });
});
