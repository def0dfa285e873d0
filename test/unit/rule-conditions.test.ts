import { describe, expect, it } from "vitest";
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
import { testDeps } from "../support/deps.ts";

/**
 * The pure rule tests (test/unit/rules) read conditions with `holds`. This checks that the
 * real adapter on dynalite agrees: every rule's write, on a range of stored states, is
 * accepted exactly when `holds` says its condition holds.
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
  spendChallenge: spendChallenge("login", slot("a", T0)),
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

describe("the rules' conditions on dynalite", () => {
  it("hold on exactly the stored states the pure rule tests say they hold on", async () => {
    const d = await testDeps();
    const cases = Object.entries(WRITES).flatMap(([name, write]) =>
      STATES.map((state, index) => ({ name, write, state, index })),
    );
    const outcomes: { name: string; state: number; dynamo: boolean; rule: boolean }[] = [];
    // in batches: the SDK keeps at most 50 sockets
    for (let start = 0; start < cases.length; start += 40) {
      const batch = cases.slice(start, start + 40).map(async ({ name, write, state, index }) => {
        if (!write) throw new Error(`${name} made no write`);
        const userId = `${name}-${index}`;
        if (state) await d.putUserState("app", userId, state);
        const result = await d.dynamo.writeUserState("app", userId, write);
        return { name, state: index, dynamo: result.ok, rule: holds(write.condition, state) };
      });
      outcomes.push(...(await Promise.all(batch)));
    }
    expect(outcomes.filter((o) => o.dynamo !== o.rule)).toEqual([]);
    // the cases are not all one way
    expect(outcomes.filter((o) => o.dynamo).length).toBeGreaterThan(20);
    expect(outcomes.filter((o) => !o.dynamo).length).toBeGreaterThan(20);
  });
});
