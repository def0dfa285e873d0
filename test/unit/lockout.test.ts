import { generateSync } from "otplib";
import { describe, expect, it } from "vitest";
import type { Secrets, ServiceSecret } from "#core/ports";
import { activateFactor } from "#core/use-cases/activate-factor";
import { unlockUser } from "#core/use-cases/admin";
import { enrollFactor } from "#core/use-cases/enroll-factor";
import { sendChallenge } from "#core/use-cases/send-challenge";
import { verifyCode } from "#core/use-cases/verify-code";
import {
  domainError,
  enrollTotp,
  enrollWithCode,
  MemorySecrets,
  type TestDeps,
  testDeps,
  testServiceSecret,
} from "../support/deps.ts";

const EMAIL = "alice@example.com";
const otherThan = (code: string): string => (code === "000000" ? "111111" : "000000");

async function aliceWithEmail(given?: TestDeps) {
  const d = given ?? (await testDeps());
  const { appId } = await d.createApp("Acme");
  const { recoveryCodes } = await d.enrollActive({ appId, userId: "alice", type: "email", email: EMAIL });
  d.clock.advanceSeconds(3600);
  return { d, appId, recoveryCodes };
}

const send = (d: TestDeps, appId: string) =>
  sendChallenge(d, { appId, userId: "alice", channel: "email", purpose: "login" });

const guess = (d: TestDeps, appId: string, challengeId: string, code: string) =>
  domainError(verifyCode(d, { appId, userId: "alice", challengeId, code }));

/** Locks alice with 3 wrong codes over two challenges; returns the second, still unused, challenge. */
async function lockAlice(d: TestDeps, appId: string) {
  const first = await send(d, appId);
  const firstCode = d.latestCode(EMAIL);
  await guess(d, appId, first.challengeId, otherThan(firstCode));
  await guess(d, appId, first.challengeId, otherThan(firstCode));
  const second = await send(d, appId);
  const secondCode = d.latestCode(EMAIL);
  const locked = await guess(d, appId, second.challengeId, otherThan(secondCode));
  return { challengeId: second.challengeId, code: secondCode, locked, lockedAt: d.clock.now() };
}

describe("wrong codes and the lock", () => {
  it("locks the user after 3 wrong codes across two challenges", async () => {
    const { d, appId } = await aliceWithEmail();
    const first = await send(d, appId);
    const firstCode = d.latestCode(EMAIL);
    const one = await guess(d, appId, first.challengeId, otherThan(firstCode));
    expect(one).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: 2 } });
    const two = await guess(d, appId, first.challengeId, otherThan(firstCode));
    expect(two).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: 1 } });

    // A new code does not reset the count.
    const second = await send(d, appId);
    const three = await guess(d, appId, second.challengeId, otherThan(d.latestCode(EMAIL)));
    expect(three.code).toBe("locked");
    expect(three.extras.lockedUntil).toBe(new Date(d.clock.now() + 1_800_000).toISOString());
  });

  it("counts wrong codes of every method together (email code, recovery code)", async () => {
    const { d, appId } = await aliceWithEmail();
    const sent = await send(d, appId);
    const code = d.latestCode(EMAIL);
    await guess(d, appId, sent.challengeId, otherThan(code));
    const recovery = await domainError(verifyCode(d, { appId, userId: "alice", code: "aaaa-bbbb-cccc" }));
    expect(recovery).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: 1 } });
    const third = await guess(d, appId, sent.challengeId, otherThan(code));
    expect(third.code).toBe("locked");
  });

  it("locks at the configured maxVerifyAttempts for lockoutSeconds", async () => {
    const { d, appId } = await aliceWithEmail();
    await d.configure(appId, (c) => {
      c.limits.maxVerifyAttempts = 5;
      c.limits.lockoutSeconds = 120;
    });
    const sent = await send(d, appId);
    const wrong = otherThan(d.latestCode(EMAIL));
    const remaining: (number | undefined)[] = [];
    for (let i = 0; i < 4; i++)
      remaining.push((await guess(d, appId, sent.challengeId, wrong)).extras.attemptsRemaining);
    expect(remaining).toEqual([4, 3, 2, 1]);
    const locked = await guess(d, appId, sent.challengeId, wrong);
    expect(locked.extras.lockedUntil).toBe(new Date(d.clock.now() + 120_000).toISOString());
  });

  it("while locked, every entry point answers locked, even with a right code", async () => {
    const { d, appId, recoveryCodes } = await aliceWithEmail();
    // An active authenticator app, and a pending sms factor whose right code we know, before the lock.
    await d.stepUp(appId, "alice");
    const totp = await enrollTotp(d, { appId, userId: "alice", label: EMAIL });
    const totpCode = () => generateSync({ secret: totp.secret, epoch: Math.floor(d.clock.now() / 1000) });
    await activateFactor(d, { appId, userId: "alice", factorId: totp.factor.factorId, code: totpCode() });
    d.clock.advanceSeconds(60);
    await d.stepUp(appId, "alice");
    const pending = await enrollWithCode(d, { appId, userId: "alice", type: "sms", phone: "+14155550123" });
    const smsCode = d.latestCode("+14155550123");
    const { challengeId, code, locked } = await lockAlice(d, appId);
    expect(locked.code).toBe("locked");
    const lockedUntil = locked.extras.lockedUntil;
    const sentBefore = d.outbox.length;

    const answers = {
      verifyRightCode: await guess(d, appId, challengeId, code),
      recoveryCode: await domainError(
        verifyCode(d, { appId, userId: "alice", code: recoveryCodes[0] ?? "" }),
      ),
      totpRightCode: await domainError(verifyCode(d, { appId, userId: "alice", code: totpCode() })),
      send: await domainError(send(d, appId)),
      sendAuto: await domainError(
        sendChallenge(d, { appId, userId: "alice", channel: "auto", purpose: "step_up" }),
      ),
      enroll: await domainError(
        enrollFactor(d, { appId, userId: "alice", type: "sms", phone: "+14155550199" }),
      ),
      activate: await domainError(
        activateFactor(d, { appId, userId: "alice", factorId: pending.factor.factorId, code: smsCode }),
      ),
    };
    for (const [entry, error] of Object.entries(answers)) {
      expect({ entry, code: error.code, lockedUntil: error.extras.lockedUntil }).toEqual({
        entry,
        code: "locked",
        lockedUntil,
      });
    }
    expect(d.outbox).toHaveLength(sentBefore);
    expect(d.approvals(appId)).toBe(0);
    expect((await d.userState(appId, "alice"))?.recovery?.size).toBe(10);
  });

  it("attempts while locked neither count nor extend the lock", async () => {
    const { d, appId } = await aliceWithEmail();
    const { challengeId, code, locked } = await lockAlice(d, appId);
    const before = await d.userState(appId, "alice");
    for (let i = 0; i < 5; i++) {
      d.clock.advanceSeconds(60);
      const error = await guess(d, appId, challengeId, otherThan(code));
      expect(error.code).toBe("locked");
      expect(error.extras.lockedUntil).toBe(locked.extras.lockedUntil);
    }
    const after = await d.userState(appId, "alice");
    expect(after?.lockedUntil).toBe(before?.lockedUntil);
    expect(after?.attempts ?? 0).toBe(0);
  });

  it("works again after lockoutSeconds, with a fresh count", async () => {
    const { d, appId } = await aliceWithEmail();
    const { lockedAt } = await lockAlice(d, appId);
    d.clock.set(lockedAt + 1_800_000 - 1);
    expect((await domainError(send(d, appId))).code).toBe("locked");

    d.clock.set(lockedAt + 1_800_000);
    const sent = await send(d, appId);
    const code = d.latestCode(EMAIL);
    const wrong = await guess(d, appId, sent.challengeId, otherThan(code));
    expect(wrong).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: 2 } });
    const approval = await verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code });
    expect(approval.status).toBe("approved");
  });

  it("an unlock ends the lock at once and clears the count", async () => {
    const { d, appId } = await aliceWithEmail();
    await lockAlice(d, appId);
    await unlockUser(d, appId, "alice");
    const sent = await send(d, appId);
    const wrong = await guess(d, appId, sent.challengeId, otherThan(d.latestCode(EMAIL)));
    expect(wrong).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: 2 } });
  });

  it("a success resets the count", async () => {
    const { d, appId } = await aliceWithEmail();
    const first = await send(d, appId);
    const code = d.latestCode(EMAIL);
    await guess(d, appId, first.challengeId, otherThan(code));
    await guess(d, appId, first.challengeId, otherThan(code));
    await verifyCode(d, { appId, userId: "alice", challengeId: first.challengeId, code });
    expect((await d.userState(appId, "alice"))?.attempts).toBe(0);

    const second = await send(d, appId);
    const error = await guess(d, appId, second.challengeId, otherThan(d.latestCode(EMAIL)));
    expect(error).toMatchObject({ code: "invalid_code", extras: { attemptsRemaining: 2 } });
  });

  it("one user's wrong codes do not lock another user", async () => {
    const { d, appId } = await aliceWithEmail();
    await d.enrollActive({ appId, userId: "bob", type: "email", email: "bob@example.com" });
    await lockAlice(d, appId);
    const sent = await sendChallenge(d, { appId, userId: "bob", channel: "email", purpose: "login" });
    const approval = await verifyCode(d, {
      appId,
      userId: "bob",
      challengeId: sent.challengeId,
      code: d.latestCode("bob@example.com"),
    });
    expect(approval.status).toBe("approved");
  });

  it("of 30 concurrent wrong guesses, at most 2 answer invalid_code; the rest are locked or told to wait", async () => {
    const { d, appId } = await aliceWithEmail();
    const sent = await send(d, appId);
    const wrong = otherThan(d.latestCode(EMAIL));
    const errors = await Promise.all(
      Array.from({ length: 30 }, () => guess(d, appId, sent.challengeId, wrong)),
    );
    const invalid = errors.filter((e) => e.code === "invalid_code");
    expect(invalid.map((e) => e.extras.attemptsRemaining).sort()).toEqual([1, 2]);
    // the third guess locks; the others were never compared: locked, or busy while 3 were in flight
    expect(errors.filter((e) => e.code === "locked").length).toBeGreaterThanOrEqual(1);
    expect(errors.every((e) => ["invalid_code", "locked", "rate_limited"].includes(e.code))).toBe(true);
    expect(
      new Set(errors.flatMap((e) => (e.code === "locked" ? [e.extras.lockedUntil] : []))),
    ).toHaveProperty("size", 1);
  });

  it("counts before it compares: a right code sent while every allowed attempt is in flight is never compared", async () => {
    // SECURITY rule 10. The checks of the first 3 wrong guesses are held after their attempts
    // were counted; everything sent meanwhile is refused before any comparison.
    const secrets = new HeldSecrets();
    const { d, appId } = await aliceWithEmail(await testDeps({ secrets }));
    const sent = await send(d, appId);
    const code = d.latestCode(EMAIL);
    const wrongs = Array.from({ length: 1000 }, (_, i) => String(i).padStart(6, "0"))
      .filter((c) => c !== code)
      .slice(0, 29);
    secrets.hold();
    const settle = (promise: Promise<unknown>) =>
      promise.then(
        () => "approved",
        (error: { code?: string }) => error.code,
      );
    const guesses = wrongs.map((c) =>
      settle(verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code: c })),
    );
    await secrets.waiting(3);
    const right = await settle(
      verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code }),
    );
    expect(right).toBe("rate_limited");
    expect(secrets.held).toBe(3);

    secrets.release();
    const answers = await Promise.all(guesses);
    // of the 3 compared, 2 were counted and the third locked; the other 26 were refused uncompared
    expect(answers.filter((a) => a === "invalid_code")).toHaveLength(2);
    expect(answers.filter((a) => a === "locked").length).toBeGreaterThanOrEqual(1);
    expect(answers.every((a) => ["invalid_code", "locked", "rate_limited"].includes(a ?? ""))).toBe(true);
    // the right code is refused from now on too: the lock holds
    expect(await settle(verifyCode(d, { appId, userId: "alice", challengeId: sent.challengeId, code }))).toBe(
      "locked",
    );
    expect(d.approvals(appId)).toBe(0);
  });
});

/** Secrets whose service secret (read by every code check after its attempt is counted) can be held back. */
class HeldSecrets extends MemorySecrets implements Secrets {
  held = 0;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  constructor() {
    super(testServiceSecret());
  }

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.gate = undefined;
    this.open?.();
  }

  /** Resolves once `count` reads are held. */
  async waiting(count: number): Promise<void> {
    for (let i = 0; i < 2000 && this.held < count; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(this.held).toBe(count);
  }

  override async serviceSecret(): Promise<ServiceSecret> {
    if (this.gate) {
      this.held += 1;
      await this.gate;
    }
    return super.serviceSecret();
  }
}
