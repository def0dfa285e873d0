import { generateSync } from "otplib";
import { describe, expect, it } from "vitest";
import { DomainError, StoreUnavailable } from "#core/errors";
import { activateFactor } from "#core/use-cases/activate-factor";
import { listFactors } from "#core/use-cases/list-factors";
import { sendChallenge } from "#core/use-cases/send-challenge";
import { verifyCode } from "#core/use-cases/verify-code";
import { toProblem } from "#http/problem";
import { enrollTotp, enrollWithCode, rejection, type TestDeps, testDeps } from "../support/deps.ts";
import {
  type FailingStore,
  type FaultMode,
  failingStore,
  type StoreMethod,
} from "../support/failing-store.ts";

/**
 * SECURITY.md rule 20: any store error while counting or redeeming → no approval (503
 * `unavailable`). Faults are injected into the real DynamoStore (dynalite) by a wrapper that
 * makes one call throw StoreUnavailable, before the call reaches the table or after it did
 * (the answer lost).
 */

const otherThan = (code: string): string => (code === "000000" ? "111111" : "000000");
const totpCode = (secret: string, epochMs: number) =>
  generateSync({ secret, epoch: Math.floor(epochMs / 1000) });

interface Env {
  d: TestDeps;
  faults: FailingStore;
  appId: string;
}

/** One app on the real store behind a fault injector; each scenario below uses its own user. */
async function env(): Promise<Env> {
  let faults: FailingStore | undefined;
  const d = await testDeps({
    wrapStore: (store) => {
      faults = failingStore(store);
      return faults.store;
    },
  });
  if (!faults) throw new Error("the store was wrapped");
  const { appId } = await d.createApp("Acme");
  return { d, faults, appId };
}

let users = 0;

/** A user with an active email factor; the enrollment's send window is over. */
async function userWithEmail({ d, appId }: Env) {
  users += 1;
  const userId = `user${users}`;
  const email = `${userId}@example.com`;
  const { factorId, recoveryCodes } = await d.enrollActive({ appId, userId, type: "email", email });
  d.clock.advanceSeconds(3600);
  return { userId, email, factorId, recoveryCodes };
}

/** A user with a login code sent to her email. */
async function userWithCode(e: Env) {
  const user = await userWithEmail(e);
  const sent = await sendChallenge(e.d, {
    appId: e.appId,
    userId: user.userId,
    channel: "email",
    purpose: "login",
  });
  return { ...user, challengeId: sent.challengeId, code: e.d.latestCode(user.email) };
}

/** The store calls `run` makes, each named by its method and which call of that method it is. */
async function callsOf(
  faults: FailingStore,
  run: () => Promise<unknown>,
): Promise<{ method: StoreMethod; nth: number }[]> {
  faults.calls.length = 0;
  await run();
  const seen = new Map<StoreMethod, number>();
  return faults.calls.map((method) => {
    const nth = (seen.get(method) ?? 0) + 1;
    seen.set(method, nth);
    return { method, nth };
  });
}

/** Runs `run` with one fault armed; returns what it threw (or resolved) and that the fault fired. */
async function withFault(
  faults: FailingStore,
  fault: { method: StoreMethod; nth: number },
  mode: FaultMode,
  run: () => Promise<unknown>,
): Promise<unknown> {
  const fired = faults.fired.length;
  faults.failOn(fault.method, fault.nth, mode);
  const outcome = await rejection(run());
  expect(faults.fired.length, `${fault.method}#${fault.nth} ${mode} fired`).toBe(fired + 1);
  return outcome;
}

/** The HTTP answer to what a use case threw: a store fault is 503 `unavailable`, never 200. */
function expectUnavailable(label: string, error: unknown): void {
  expect({ label, error }).toEqual({ label, error: expect.any(StoreUnavailable) });
  const { result } = toProblem(error);
  expect({ label, status: result.statusCode, body: JSON.parse(result.body ?? "{}").code }).toEqual({
    label,
    status: 503,
    body: "unavailable",
  });
}

const MODES: FaultMode[] = ["before", "after"];

describe("a store fault while redeeming a right code", () => {
  it("answers 503 and never approves; the attempt is given back and the code still works afterwards", async () => {
    const e = await env();
    const { d, appId } = e;
    const { userId, challengeId, code } = await userWithCode(e);
    // the verification's writes: 1 reserves the attempt, 2 settles (spends the code, proves the factor)
    const error = await withFault(e.faults, { method: "writeUserState", nth: 2 }, "before", () =>
      verifyCode(d, { appId, userId, challengeId, code }),
    );
    expectUnavailable("settle", error);
    expect(d.approvals(appId, userId)).toBe(0);
    const state = await d.userState(appId, userId);
    expect(state?.attempts).toBe(0);
    expect(state?.challenges?.login?.id).toBe(challengeId);

    const approval = await verifyCode(d, { appId, userId, challengeId, code });
    expect(approval.status).toBe("approved");
    expect(d.approvals(appId, userId)).toBe(1);
  });

  it("leaves the attempt counted when giving it back fails too (the safe side)", async () => {
    const e = await env();
    const { d, appId } = e;
    const { userId, challengeId, code } = await userWithCode(e);
    e.faults.failOn("writeUserState", 2);
    e.faults.failOn("writeUserState", 3);
    expectUnavailable("settle", await rejection(verifyCode(d, { appId, userId, challengeId, code })));
    expect(e.faults.fired).toHaveLength(2);
    expect((await d.userState(appId, userId))?.attempts).toBe(1);
    expect(d.approvals(appId, userId)).toBe(0);
  });
});

describe("failing each store call of a verification, before or after it reached the table", () => {
  it("a right sent code: 503, no approval; a call that never happened leaves the code usable and nothing counted", async () => {
    const e = await env();
    const { d, appId } = e;
    const probe = await userWithCode(e);
    const calls = await callsOf(e.faults, () =>
      verifyCode(d, { appId, userId: probe.userId, challengeId: probe.challengeId, code: probe.code }),
    );
    expect(calls.map((c) => c.method)).toEqual(expect.arrayContaining(["writeUserState"]));
    expect(calls.filter((c) => c.method === "writeUserState")).toHaveLength(2);

    for (const call of calls) {
      for (const mode of MODES) {
        const label = `${call.method}#${call.nth} ${mode}`;
        const { userId, challengeId, code } = await userWithCode(e);
        const error = await withFault(e.faults, call, mode, () =>
          verifyCode(d, { appId, userId, challengeId, code }),
        );
        expectUnavailable(label, error);
        expect({ label, approvals: d.approvals(appId, userId) }).toEqual({ label, approvals: 0 });
        if (mode === "before") {
          expect({ label, attempts: (await d.userState(appId, userId))?.attempts ?? 0 }).toEqual({
            label,
            attempts: 0,
          });
          const retry = await rejection(verifyCode(d, { appId, userId, challengeId, code }));
          expect({ label, retry }).toEqual({
            label,
            retry: { resolved: expect.objectContaining({ status: "approved" }) },
          });
        }
      }
    }
  });

  it("a wrong code: 503, never invalid_code without the attempt counted", async () => {
    const e = await env();
    const { d, appId } = e;
    const probe = await userWithCode(e);
    const calls = await callsOf(e.faults, () =>
      rejection(
        verifyCode(d, {
          appId,
          userId: probe.userId,
          challengeId: probe.challengeId,
          code: otherThan(probe.code),
        }),
      ),
    );
    expect(calls.map((c) => c.method)).toContain("writeUserState");

    for (const call of calls) {
      for (const mode of MODES) {
        const label = `${call.method}#${call.nth} ${mode}`;
        const { userId, challengeId, code } = await userWithCode(e);
        const error = await withFault(e.faults, call, mode, () =>
          verifyCode(d, { appId, userId, challengeId, code: otherThan(code) }),
        );
        expectUnavailable(label, error);
        expect(error).not.toBeInstanceOf(DomainError);
      }
    }
  });

  it("the wrong code that locks: 503 if the lock cannot be written, and the user is locked once the attempts in flight are over", async () => {
    const e = await env();
    const { d, appId } = e;
    const { userId, challengeId, code } = await userWithCode(e);
    for (let i = 0; i < 2; i++)
      await rejection(verifyCode(d, { appId, userId, challengeId, code: otherThan(code) }));
    // the third wrong code: write 1 reserves its attempt, write 2 locks
    const error = await withFault(e.faults, { method: "writeUserState", nth: 2 }, "before", () =>
      verifyCode(d, { appId, userId, challengeId, code: otherThan(code) }),
    );
    expectUnavailable("lock", error);
    // every attempt is taken: the right code is not compared, and is no approval
    const busy = await rejection(verifyCode(d, { appId, userId, challengeId, code }));
    expect(busy).toMatchObject({ code: "rate_limited" });
    d.clock.advanceSeconds(31);
    const locked = await rejection(verifyCode(d, { appId, userId, challengeId, code }));
    expect(locked).toMatchObject({ code: "locked" });
    expect(d.approvals(appId, userId)).toBe(0);
  });

  it("a recovery code: 503, no approval; the code is not spent unless the spending write happened", async () => {
    const e = await env();
    const { d, appId } = e;
    const probe = await userWithEmail(e);
    const calls = await callsOf(e.faults, () =>
      verifyCode(d, { appId, userId: probe.userId, code: probe.recoveryCodes[0] ?? "" }),
    );
    expect(calls.filter((c) => c.method === "writeUserState")).toHaveLength(2);

    for (const call of calls) {
      for (const mode of MODES) {
        const label = `${call.method}#${call.nth} ${mode}`;
        const { userId, recoveryCodes } = await userWithEmail(e);
        const code = recoveryCodes[0] ?? "";
        const error = await withFault(e.faults, call, mode, () => verifyCode(d, { appId, userId, code }));
        expectUnavailable(label, error);
        expect({ label, approvals: d.approvals(appId, userId) }).toEqual({ label, approvals: 0 });
        if (mode === "before") {
          const retry = await rejection(verifyCode(d, { appId, userId, code }));
          expect({ label, retry }).toEqual({
            label,
            retry: { resolved: expect.objectContaining({ method: "recovery", recoveryCodesRemaining: 9 }) },
          });
        }
      }
    }
  });

  it("an authenticator app code: 503, no approval; a call that never happened leaves the step unused", async () => {
    const e = await env();
    const { d, appId } = e;
    const userWithTotp = async () => {
      users += 1;
      const userId = `totp${users}`;
      const enrolled = await enrollTotp(d, { appId, userId });
      await activateFactor(d, {
        appId,
        userId,
        factorId: enrolled.factor.factorId,
        code: totpCode(enrolled.secret, d.clock.now()),
      });
      d.clock.advanceSeconds(60);
      return { userId, secret: enrolled.secret };
    };
    const probe = await userWithTotp();
    const calls = await callsOf(e.faults, () =>
      verifyCode(d, { appId, userId: probe.userId, code: totpCode(probe.secret, d.clock.now()) }),
    );
    expect(calls.map((c) => c.method)).toEqual(expect.arrayContaining(["loadUser", "writeUserState"]));

    for (const call of calls) {
      for (const mode of MODES) {
        const label = `${call.method}#${call.nth} ${mode}`;
        const { userId, secret } = await userWithTotp();
        const code = totpCode(secret, d.clock.now());
        const error = await withFault(e.faults, call, mode, () => verifyCode(d, { appId, userId, code }));
        expectUnavailable(label, error);
        expect({ label, approvals: d.approvals(appId, userId) }).toEqual({ label, approvals: 0 });
        if (mode === "before") {
          expect({ label, attempts: (await d.userState(appId, userId))?.attempts ?? 0 }).toEqual({
            label,
            attempts: 0,
          });
          const retry = await rejection(verifyCode(d, { appId, userId, code }));
          expect({ label, retry }).toEqual({
            label,
            retry: { resolved: expect.objectContaining({ method: "totp" }) },
          });
        }
      }
    }
  });
});

describe("a store fault while sending", () => {
  it("before the provider: 503, no provider called, nothing counted", async () => {
    const e = await env();
    const { d, appId } = e;
    const probe = await userWithEmail(e);
    // The store calls made before the provider is handed the message.
    let callsBeforeProvider = -1;
    const email = d.email;
    d.email = (config) => ({
      sendEmail: (message) => {
        callsBeforeProvider = e.faults.calls.length;
        return email(config).sendEmail(message);
      },
    });
    const calls = await callsOf(e.faults, () =>
      sendChallenge(d, { appId, userId: probe.userId, channel: "email", purpose: "login" }),
    );
    expect(calls.slice(0, callsBeforeProvider).map((c) => c.method)).toEqual(
      expect.arrayContaining(["loadUser", "writeUserState"]),
    );

    for (const call of calls.slice(0, callsBeforeProvider)) {
      const label = `${call.method}#${call.nth}`;
      const { userId } = await userWithEmail(e);
      const attempts = d.emailProvider.attempts.length;
      const counted = async () => {
        const state = await d.userState(appId, userId);
        return { sends: state?.sends, sendWindowEnd: state?.sendWindowEnd };
      };
      const before = await counted();
      const error = await withFault(e.faults, call, "before", () =>
        sendChallenge(d, { appId, userId, channel: "email", purpose: "login" }),
      );
      expectUnavailable(label, error);
      expect({ label, provider: d.emailProvider.attempts.length }).toEqual({ label, provider: attempts });
      expect({ label, counted: await counted() }).toEqual({ label, counted: before });
    }
  });

  it("when the delivered code cannot be registered: 503, and the code sent before it still works", async () => {
    const e = await env();
    const { d, appId } = e;
    const { userId, email, challengeId, code } = await userWithCode(e);
    // the send's writes: 1 counts the send, 2 makes the delivered code the current one
    const error = await withFault(e.faults, { method: "writeUserState", nth: 2 }, "before", () =>
      sendChallenge(d, { appId, userId, channel: "email", purpose: "login" }),
    );
    expectUnavailable("register", error);
    const undelivered = d.latestCode(email);
    expect((await d.userState(appId, userId))?.challenges?.login?.id).toBe(challengeId);
    if (undelivered !== code) {
      const refused = await rejection(verifyCode(d, { appId, userId, challengeId, code: undelivered }));
      expect(refused).toMatchObject({ code: "invalid_code" });
    }
    expect((await verifyCode(d, { appId, userId, challengeId, code })).status).toBe("approved");
  });
});

describe("a store fault while activating", () => {
  it("up to the activating write: 503, MFA stays off, the factor stays pending", async () => {
    const e = await env();
    const { d, appId } = e;
    const enroll = async () => {
      users += 1;
      const userId = `new${users}`;
      const email = `${userId}@example.com`;
      const enrolled = await enrollWithCode(d, { appId, userId, type: "email", email });
      return { userId, factorId: enrolled.factor.factorId, code: d.latestCode(email) };
    };
    const probe = await enroll();
    const calls = await callsOf(e.faults, () => activateFactor(d, { appId, ...probe }));
    const settle = calls.findIndex((c) => c.method === "writeUserState" && c.nth === 2);
    expect(settle).toBeGreaterThan(0);

    for (const call of calls.slice(0, settle + 1)) {
      const label = `${call.method}#${call.nth}`;
      const pending = await enroll();
      const error = await withFault(e.faults, call, "before", () => activateFactor(d, { appId, ...pending }));
      expectUnavailable(label, error);
      const listed = await listFactors(d, { appId, userId: pending.userId });
      expect({ label, enabled: listed.enabled, status: listed.factors[0]?.status }).toEqual({
        label,
        enabled: false,
        status: "pending",
      });
    }
  });

  // The factor item's expiry is removed before the activating write: otherwise a fault there would
  // answer 503 with MFA on, and DynamoDB would delete the active factor within a day.
  it("after the activating write: either the activation is answered, or no active factor keeps an expiry", async () => {
    const e = await env();
    const { d, appId } = e;
    const userId = "keep-fails";
    const email = `${userId}@example.com`;
    const enrolled = await enrollWithCode(d, { appId, userId, type: "email", email });
    const outcome = await withFault(e.faults, { method: "keepFactor", nth: 1 }, "before", () =>
      activateFactor(d, { appId, userId, factorId: enrolled.factor.factorId, code: d.latestCode(email) }),
    );
    const state = await d.userState(appId, userId);
    const factorItem = (JSON.parse(await d.tableText()) as { sk: string; ttl?: number }[]).find(
      (item) => item.sk === `FACTOR#${enrolled.factor.factorId}`,
    );
    const facts = {
      mfaOn: state?.enabled === true,
      answered: typeof outcome === "object" && outcome !== null && "resolved" in outcome,
      factorExpires: factorItem?.ttl !== undefined,
    };
    // Nothing happened (MFA off, 503, the pending factor expires), or the activation is complete and answered.
    expect([
      { mfaOn: false, answered: false, factorExpires: true },
      { mfaOn: true, answered: true, factorExpires: false },
    ]).toContainEqual(facts);
  });
});
