import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reserveAttempt } from "#core/rules/attempts";
import { enrollEmail, type Harness, putConfig, startHarness } from "../support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const countBy = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>((acc, s) => {
    acc[s] = (acc[s] ?? 0) + 1;
    return acc;
  }, {});

describe("races against dynalite: every state change is a conditional write", () => {
  it("200 parallel verifications of one right code give exactly one approval and one session", async () => {
    await enrollEmail(h, "race-right");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "race-right", channel: "email" } });
    const code = await h.latestCode("race-right@example.com");
    const replies = await Promise.all(
      Array.from({ length: 200 }, () =>
        h.call("POST", "/v1/verifications", {
          body: { userId: "race-right", challengeId: sent.body.challengeId, code },
        }),
      ),
    );
    const counts = countBy(replies.map((r) => r.status));
    expect(counts[200]).toBe(1);
    // the others find the code used (410), or every attempt in flight (429): none is compared twice
    expect((counts[410] ?? 0) + (counts[429] ?? 0)).toBe(199);
    const tokens = replies.filter((r) => r.status === 200).map((r) => r.body.sessionToken);
    expect(new Set(tokens).size).toBe(1);
  });

  it("60 parallel wrong codes with a limit of 3 give at most 3 invalid_code answers, then the user is locked", async () => {
    await enrollEmail(h, "race-wrong");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "race-wrong", channel: "email" } });
    const right = await h.latestCode("race-wrong@example.com");
    const wrong = right === "000000" ? "111111" : "000000";
    const replies = await Promise.all(
      Array.from({ length: 60 }, () =>
        h.call("POST", "/v1/verifications", {
          body: { userId: "race-wrong", challengeId: sent.body.challengeId, code: wrong },
        }),
      ),
    );
    const counts = countBy(replies.map((r) => r.status));
    // at most 3 guesses are ever compared: the rest are refused as locked, or as busy while 3 are in flight
    expect((counts[422] ?? 0) + (counts[423] ?? 0) + (counts[429] ?? 0)).toBe(60);
    expect(counts[422] ?? 0).toBeLessThanOrEqual(3);
    expect(counts[423]).toBeGreaterThanOrEqual(1);
    const lockTimes = new Set(replies.filter((r) => r.status === 423).map((r) => r.body.lockedUntil));
    expect(lockTimes.size).toBe(1);
    const withRightCode = await h.call("POST", "/v1/verifications", {
      body: { userId: "race-wrong", challengeId: sent.body.challengeId, code: right },
    });
    expect(withRightCode.status).toBe(423);
  });

  it("30 parallel sends with maxCodeRequests 4 send at most 4 codes", async () => {
    await putConfig(h, "default", (config) => {
      (config.limits as Record<string, unknown>).maxCodeRequests = 20;
    });
    await enrollEmail(h, "race-send");
    await putConfig(h, "default", (config) => {
      (config.limits as Record<string, unknown>).maxCodeRequests = 4;
    });
    h.stack.clock.advance(901); // a fresh send window after the enrollment's code
    const before = (await h.stack.outboxMessages("race-send@example.com")).length;
    const replies = await Promise.all(
      Array.from({ length: 30 }, () =>
        h.call("POST", "/v1/challenges", { body: { userId: "race-send", channel: "email" } }),
      ),
    );
    const counts = countBy(replies.map((r) => r.status));
    expect(counts[201]).toBe(4);
    expect(counts[429]).toBe(26);
    const sent = (await h.stack.outboxMessages("race-send@example.com")).length - before;
    expect(sent).toBe(4);
  });

  it("100 parallel uses of one recovery code give one approval; 10 different codes in parallel give 10", async () => {
    const { recoveryCodes } = await enrollEmail(h, "race-recovery");
    const [first, second] = recoveryCodes;
    const same = await Promise.all(
      Array.from({ length: 100 }, () =>
        h.call("POST", "/v1/verifications", { body: { userId: "race-recovery", code: first } }),
      ),
    );
    expect(same.filter((r) => r.status === 200)).toHaveLength(1);
    // the others find it spent (410) or wait (429): a spent code is no guess, so nobody gets locked
    expect(same.every((r) => [200, 410, 429].includes(r.status))).toBe(true);
    const next = await h.call("POST", "/v1/verifications", {
      body: { userId: "race-recovery", code: second },
    });
    expect(next.status).toBe(200);

    await putConfig(h, "default", (config) => {
      (config.limits as Record<string, unknown>).maxVerifyAttempts = 10;
    });
    const { recoveryCodes: fresh } = await enrollEmail(h, "race-recovery-2");
    const distinct = await Promise.all(
      fresh.map((code) => h.call("POST", "/v1/verifications", { body: { userId: "race-recovery-2", code } })),
    );
    expect(distinct.map((r) => r.status)).toEqual(Array(10).fill(200));
    const listed = await h.call("GET", "/v1/users/race-recovery-2/factors");
    expect(listed.body.recoveryCodesRemaining).toBe(0);
  });
});

describe("count before compare", () => {
  it("a right code sent in a burst of 29 wrong ones is compared only if it got one of the 3 attempts", async () => {
    await putConfig(h, "default", (config) => {
      (config.limits as Record<string, unknown>).maxVerifyAttempts = 3;
    });
    const approvals: number[] = [];
    for (let round = 0; round < 5; round++) {
      const userId = `burst-${round}`;
      await enrollEmail(h, userId);
      const sent = await h.call("POST", "/v1/challenges", { body: { userId, channel: "email" } });
      const right = await h.latestCode(`${userId}@example.com`);
      const wrong = right === "000000" ? "111111" : "000000";
      const codes = [...Array(29).fill(wrong), right].sort(() => Math.random() - 0.5);
      const replies = await Promise.all(
        codes.map((code) =>
          h.call("POST", "/v1/verifications", { body: { userId, challengeId: sent.body.challengeId, code } }),
        ),
      );
      const compared = replies.filter((r) => r.status === 422 || r.status === 200).length;
      expect(compared).toBeLessThanOrEqual(3);
      approvals.push(replies.filter((r) => r.status === 200).length);
    }
    expect(approvals.every((n) => n <= 1)).toBe(true);
  });
});

describe("attempts left over by a request that died midway", () => {
  it("make the next check wait while they may be in flight, then lock once they cannot be", async () => {
    await enrollEmail(h, "crashed");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "crashed", channel: "email" } });
    const code = await h.latestCode("crashed@example.com");
    const policy = { maxVerifyAttempts: 3, lockoutSeconds: 1800 };
    const reserve = reserveAttempt(policy, h.stack.clock.now());
    for (let i = 0; i < 3; i++) await h.stack.deps.store.writeUserState("default", "crashed", reserve);
    const body = { userId: "crashed", challengeId: sent.body.challengeId, code };
    const busy = await h.call("POST", "/v1/verifications", { body });
    expect(busy.status).toBe(429);
    expect(busy.headers["retry-after"]).toBe("1");
    h.stack.clock.advance(31);
    const locked = await h.call("POST", "/v1/verifications", { body });
    expect(locked.status).toBe(423);
    const audit = await h.call("GET", "/v1/admin/apps/default/audit?userId=crashed&limit=2", {
      auth: "admin",
    });
    expect((audit.body.events as { type: string }[]).map((e) => e.type)).toContain("user.locked");
  });
});

describe("parallel sends", () => {
  it("leave exactly one valid code: the newest", async () => {
    await putConfig(h, "default", (config) => {
      (config.limits as Record<string, unknown>).maxCodeRequests = 20;
      (config.limits as Record<string, unknown>).maxVerifyAttempts = 10;
    });
    await enrollEmail(h, "double-send");
    h.stack.clock.advance(901);
    const sends = await Promise.all(
      Array.from({ length: 3 }, () =>
        h.call("POST", "/v1/challenges", { body: { userId: "double-send", channel: "email" } }),
      ),
    );
    expect(sends.every((s) => s.status === 201)).toBe(true);
    const messages = await h.stack.outboxMessages("double-send@example.com");
    const codes = messages.slice(0, sends.length).map((m) => /\b(\d{6})\b/.exec(m.body)?.[1] ?? "");
    // each code matches only its own challenge; 6 of these 9 tries are wrong, under the limit of 10
    let approvals = 0;
    for (const sent of sends) {
      for (const code of codes) {
        const reply = await h.call("POST", "/v1/verifications", {
          body: { userId: "double-send", challengeId: sent.body.challengeId, code },
        });
        if (reply.status === 200) approvals++;
      }
    }
    expect(approvals).toBe(1);
  });
});
