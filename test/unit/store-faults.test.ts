import { describe, expect, it } from "vitest";
import { DomainError, StoreUnavailable } from "#core/errors";
import { activateFactor } from "#core/use-cases/activate-factor";
import { sendChallenge } from "#core/use-cases/send-challenge";
import { verifyCode } from "#core/use-cases/verify-code";
import { enrollWithCode, type MemoryDeps, memoryDeps } from "../support/memory-deps.ts";
import type { StoreMethod } from "../support/memory-store.ts";

const EMAIL = "alice@example.com";
const otherThan = (code: string): string => (code === "000000" ? "111111" : "000000");

async function aliceWithEmail(d: MemoryDeps = memoryDeps()) {
  const { appId } = await d.createApp("Acme");
  const { recoveryCodes } = await d.enrollActive({ appId, userId: "alice", type: "email", email: EMAIL });
  d.clock.advanceSeconds(3600);
  return { d, appId, recoveryCodes };
}

/** A fresh app with alice, a login code sent to her, and the store calls a verification of `code` makes. */
async function sentCode() {
  const { d, appId, recoveryCodes } = await aliceWithEmail();
  const sent = await sendChallenge(d, { appId, userId: "alice", channel: "email", purpose: "login" });
  return { d, appId, recoveryCodes, challengeId: sent.challengeId, code: d.latestCode(EMAIL) };
}

/** The store methods `run` calls, in order of first use. */
async function callsOf(d: MemoryDeps, run: () => Promise<unknown>): Promise<StoreMethod[]> {
  const before = d.store.calls.length;
  await run().catch(() => undefined);
  return [...new Set(d.store.calls.slice(before))];
}

const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    const value = await promise;
    return { resolved: value };
  } catch (error) {
    return error;
  }
};

describe("a store failure while redeeming a code", () => {
  it("throws and never approves; the code still works once the store is back", async () => {
    const { d, appId, challengeId, code } = await sentCode();
    d.store.failNext("redeemChallenge");
    const error = await rejection(verifyCode(d, { appId, userId: "alice", challengeId, code }));
    expect(error).toBeInstanceOf(StoreUnavailable);
    expect(d.store.dump().sessions).toEqual([]);

    const approval = await verifyCode(d, { appId, userId: "alice", challengeId, code });
    expect(approval.status).toBe("approved");
  });
});

describe("failing each store call of a right-code verification", () => {
  it("makes the verification throw StoreUnavailable and issue no session, whichever call fails", async () => {
    const probe = await sentCode();
    const methods = await callsOf(probe.d, () =>
      verifyCode(probe.d, {
        appId: probe.appId,
        userId: "alice",
        challengeId: probe.challengeId,
        code: probe.code,
      }),
    );
    expect(methods).toEqual(expect.arrayContaining(["redeemChallenge", "approve", "putSession"]));
    for (const method of methods) {
      const { d, appId, challengeId, code } = await sentCode();
      d.store.failNext(method);
      const error = await rejection(verifyCode(d, { appId, userId: "alice", challengeId, code }));
      expect({ method, error }).toEqual({ method, error: expect.any(StoreUnavailable) });
      expect({ method, sessions: d.store.dump().sessions }).toEqual({ method, sessions: [] });
    }
  });
});

describe("failing each store call of a wrong-code verification", () => {
  it("throws StoreUnavailable, never answers invalid_code without counting it", async () => {
    const probe = await sentCode();
    const methods = await callsOf(probe.d, () =>
      verifyCode(probe.d, {
        appId: probe.appId,
        userId: "alice",
        challengeId: probe.challengeId,
        code: otherThan(probe.code),
      }),
    );
    expect(methods).toEqual(expect.arrayContaining(["reserveAttempt", "redeemChallenge"]));
    for (const method of methods) {
      const { d, appId, challengeId, code } = await sentCode();
      d.store.failNext(method);
      const error = await rejection(
        verifyCode(d, { appId, userId: "alice", challengeId, code: otherThan(code) }),
      );
      expect({ method, error }).toEqual({ method, error: expect.any(StoreUnavailable) });
    }
  });
});

describe("failing each store call of a recovery-code verification", () => {
  it("throws StoreUnavailable and no session; the code is not spent unless it was consumed", async () => {
    const probe = await aliceWithEmail();
    const methods = await callsOf(probe.d, () =>
      verifyCode(probe.d, { appId: probe.appId, userId: "alice", code: probe.recoveryCodes[0] ?? "" }),
    );
    expect(methods).toEqual(expect.arrayContaining(["consumeRecoveryCode", "approve", "putSession"]));

    for (const method of methods) {
      const { d, appId, recoveryCodes } = await aliceWithEmail();
      const code = recoveryCodes[0] ?? "";
      d.store.failNext(method);
      const error = await rejection(verifyCode(d, { appId, userId: "alice", code }));
      expect({ method, error }).toEqual({ method, error: expect.any(StoreUnavailable) });
      expect({ method, sessions: d.store.dump().sessions }).toEqual({ method, sessions: [] });
    }

    const { d, appId, recoveryCodes } = await aliceWithEmail();
    d.store.failNext("consumeRecoveryCode");
    await rejection(verifyCode(d, { appId, userId: "alice", code: recoveryCodes[0] ?? "" }));
    const approval = await verifyCode(d, { appId, userId: "alice", code: recoveryCodes[0] ?? "" });
    expect(approval).toMatchObject({ method: "recovery", recoveryCodesRemaining: 9 });
  });
});

describe("a store failure while sending", () => {
  it("when the challenge cannot be saved: throws, calls no provider and counts nothing", async () => {
    const { d, appId } = await aliceWithEmail();
    const attempts = d.emailProvider.attempts.length;
    d.store.failNext("putChallenge");
    const error = await rejection(
      sendChallenge(d, { appId, userId: "alice", channel: "email", purpose: "login" }),
    );
    expect(error).toBeInstanceOf(StoreUnavailable);
    expect(d.emailProvider.attempts).toHaveLength(attempts);
    expect(d.store.rawState(appId, "alice")?.sendCount ?? 0).toBe(0);
  });

  it("when the send cannot be counted: throws and calls no provider", async () => {
    const { d, appId } = await aliceWithEmail();
    const attempts = d.emailProvider.attempts.length;
    d.store.failNext("reserveSend");
    const error = await rejection(
      sendChallenge(d, { appId, userId: "alice", channel: "email", purpose: "login" }),
    );
    expect(error).toBeInstanceOf(StoreUnavailable);
    expect(d.emailProvider.attempts).toHaveLength(attempts);
  });
});

describe("a store failure while activating", () => {
  it("throws, leaves MFA off and gives no recovery codes", async () => {
    const d = memoryDeps();
    const { appId } = await d.createApp("Acme");
    const enrolled = await enrollWithCode(d, { appId, userId: "alice", type: "email", email: EMAIL });
    d.store.failNext("activateFactor");
    const error = await rejection(
      activateFactor(d, {
        appId,
        userId: "alice",
        factorId: enrolled.factor.factorId,
        code: d.latestCode(EMAIL),
      }),
    );
    expect(error).toBeInstanceOf(StoreUnavailable);
    expect(error).not.toBeInstanceOf(DomainError);
    expect(d.store.rawState(appId, "alice")?.enabled).not.toBe(true);
    expect(d.store.dump().factors[0]?.status).toBe("pending");
  });
});
