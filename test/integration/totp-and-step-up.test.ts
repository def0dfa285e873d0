import { generateSync } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enrollEmail, type Harness, putConfig, startHarness } from "../support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const PERIOD = 30;
const totpAt = (
  secret: string,
  ms: number,
  algorithm: "sha1" | "sha256" | "sha512" = "sha1",
  digits: 6 | 8 = 6,
) => generateSync({ secret, algorithm, digits, period: PERIOD, epoch: Math.floor(ms / 1000) });

async function enrollTotp(userId: string) {
  const enrolled = await h.call("POST", `/v1/users/${userId}/factors`, {
    body: { type: "totp", label: `${userId}@example.com` },
  });
  expect(enrolled.status).toBe(201);
  const secret = String(enrolled.body.secret);
  const activated = await h.call("POST", `/v1/users/${userId}/factors/${enrolled.body.factorId}/activate`, {
    body: { code: totpAt(secret, h.stack.clock.now()) },
  });
  expect(activated.status).toBe(200);
  // the activation used the current step; move to the next so login codes are fresh
  h.stack.clock.advance(PERIOD);
  return {
    secret,
    factorId: String(enrolled.body.factorId),
    recoveryCodes: activated.body.recoveryCodes as string[],
  };
}

describe("authenticator apps (TOTP)", () => {
  it("enrolls with a 160-bit secret, an otpauth URI carrying every parameter, and QR codes as SVG and PNG", async () => {
    const enrolled = await h.call("POST", "/v1/users/tina/factors", {
      body: { type: "totp", label: "tina@example.com" },
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body).toMatchObject({ type: "totp", status: "pending", destination: "t***@example.com" });
    const secret = String(enrolled.body.secret);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 32 base32 chars = 160 bits
    const uri = new URL(String(enrolled.body.otpauthUri));
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(decodeURIComponent(uri.pathname)).toBe("/Default app:tina@example.com");
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      secret,
      issuer: "Default app",
      algorithm: "SHA1",
      digits: "6",
      period: "30",
    });
    expect(String(enrolled.body.qrCodeSvg)).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    const png = Buffer.from(
      String(enrolled.body.qrCodeDataUrl).replace(/^data:image\/png;base64,/, ""),
      "base64",
    );
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    const listed = await h.call("GET", "/v1/users/tina/factors");
    expect(JSON.stringify(listed.body)).not.toContain(secret);
  });

  it("verifies without a challenge id, accepts each time step once, and refuses an older step", async () => {
    const { secret } = await enrollTotp("tom");
    const now = h.stack.clock.now();
    const code = totpAt(secret, now);
    const ok = await h.call("POST", "/v1/verifications", { body: { userId: "tom", code } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ method: "totp", recoveryCodesRemaining: 10 });
    const replay = await h.call("POST", "/v1/verifications", { body: { userId: "tom", code } });
    expect(replay.status).toBe(422);
    expect(replay.body.code).toBe("invalid_code");
    h.stack.clock.advance(PERIOD);
    const older = await h.call("POST", "/v1/verifications", {
      body: { userId: "tom", code: totpAt(secret, now - PERIOD * 1000) },
    });
    expect(older.status).toBe(422);
    const fresh = await h.call("POST", "/v1/verifications", {
      body: { userId: "tom", code: totpAt(secret, h.stack.clock.now()) },
    });
    expect(fresh.status).toBe(200);
  });

  it("accepts the configured window and nothing beyond it", async () => {
    const { secret } = await enrollTotp("win");
    // start 1 s into a step, so no step boundary passes between computing the codes and checking them
    const into = (h.stack.clock.now() / 1000) % PERIOD;
    h.stack.clock.advance(PERIOD - into + 1);
    const now = h.stack.clock.now();
    expect(
      (
        await h.call("POST", "/v1/verifications", {
          body: { userId: "win", code: totpAt(secret, now + 2 * PERIOD * 1000) },
        })
      ).status,
    ).toBe(422);
    expect(
      (
        await h.call("POST", "/v1/verifications", {
          body: { userId: "win", code: totpAt(secret, now + PERIOD * 1000) },
        })
      ).status,
    ).toBe(200);
  });

  it("50 parallel uses of one TOTP code give one approval", async () => {
    await putConfig(h, "default", (c) => {
      (c.limits as Record<string, unknown>).maxVerifyAttempts = 10;
    });
    const { secret } = await enrollTotp("tpar");
    const code = totpAt(secret, h.stack.clock.now());
    const replies = await Promise.all(
      Array.from({ length: 50 }, () =>
        h.call("POST", "/v1/verifications", { body: { userId: "tpar", code } }),
      ),
    );
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    expect(replies.every((r) => [200, 422, 423, 429].includes(r.status))).toBe(true);
  });

  it("supports SHA256 with 8 digits and 60 s steps", async () => {
    await putConfig(h, "default", (c) => {
      c.totp = { digits: 8, periodSeconds: 60, algorithm: "SHA256", window: 0 };
    });
    const enrolled = await h.call("POST", "/v1/users/sha/factors", { body: { type: "totp" } });
    const secret = String(enrolled.body.secret);
    expect(String(enrolled.body.otpauthUri)).toContain("algorithm=SHA256&digits=8&period=60");
    const code = generateSync({
      secret,
      algorithm: "sha256",
      digits: 8,
      period: 60,
      epoch: Math.floor(h.stack.clock.now() / 1000),
    });
    expect(code).toHaveLength(8);
    const activated = await h.call("POST", `/v1/users/sha/factors/${enrolled.body.factorId}/activate`, {
      body: { code },
    });
    expect(activated.status).toBe(200);
    await putConfig(h, "default", (c) => {
      c.totp = {};
    });
  });

  it("answers 409 for a second active TOTP factor", async () => {
    await enrollTotp("dup");
    const again = await h.call("POST", "/v1/users/dup/factors", { body: { type: "totp" } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("factor_exists");
  });
});

describe("step-up, recovery codes, MFA off and sessions", () => {
  it("needs a verification within stepUpSeconds to regenerate recovery codes; old codes stop working", async () => {
    const { recoveryCodes } = await enrollEmail(h, "steppy");
    h.stack.clock.advance(301);
    const stale = await h.call("POST", "/v1/users/steppy/recovery-codes");
    expect(stale.status).toBe(403);
    expect(stale.body.code).toBe("step_up_required");
    const sent = await h.call("POST", "/v1/challenges", {
      body: { userId: "steppy", channel: "email", purpose: "step_up" },
    });
    await h.call("POST", "/v1/verifications", {
      body: {
        userId: "steppy",
        challengeId: sent.body.challengeId,
        code: await h.latestCode("steppy@example.com"),
      },
    });
    const fresh = await h.call("POST", "/v1/users/steppy/recovery-codes");
    expect(fresh.status).toBe(201);
    const codes = fresh.body.recoveryCodes as string[];
    expect(codes).toHaveLength(10);
    const old = await h.call("POST", "/v1/verifications", {
      body: { userId: "steppy", code: recoveryCodes[0] },
    });
    expect(old.status).toBe(422);
    const works = await h.call("POST", "/v1/verifications", { body: { userId: "steppy", code: codes[0] } });
    expect(works.status).toBe(200);
    expect(works.body.recoveryCodesRemaining).toBe(9);
  });

  it("removes a factor with step-up, and turning MFA off removes factors, codes and sessions", async () => {
    const { factorId } = await enrollEmail(h, "offuser");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "offuser", channel: "email" } });
    const verified = await h.call("POST", "/v1/verifications", {
      body: {
        userId: "offuser",
        challengeId: sent.body.challengeId,
        code: await h.latestCode("offuser@example.com"),
      },
    });
    const token = String(verified.body.sessionToken);
    h.stack.clock.advance(301);
    expect((await h.call("DELETE", `/v1/users/offuser/factors/${factorId}`)).status).toBe(403);
    expect((await h.call("DELETE", "/v1/users/offuser/mfa")).status).toBe(403);
    const noChallenge = await h.call("POST", "/v1/verifications", {
      body: { userId: "offuser", code: "123456" },
    });
    expect(noChallenge.body.code).toBe("challenge_not_found");
    const again = await h.call("POST", "/v1/challenges", { body: { userId: "offuser", channel: "email" } });
    await h.call("POST", "/v1/verifications", {
      body: {
        userId: "offuser",
        challengeId: again.body.challengeId,
        code: await h.latestCode("offuser@example.com"),
      },
    });
    const off = await h.call("DELETE", "/v1/users/offuser/mfa");
    expect(off.status).toBe(204);
    const listed = await h.call("GET", "/v1/users/offuser/factors");
    expect(listed.body).toMatchObject({ enabled: false, factors: [], recoveryCodesRemaining: 0 });
    expect((await h.call("POST", "/v1/sessions/validate", { body: { sessionToken: token } })).body).toEqual({
      valid: false,
    });
  });

  it("revokes a user's sessions", async () => {
    await enrollEmail(h, "sess");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "sess", channel: "email" } });
    const verified = await h.call("POST", "/v1/verifications", {
      body: {
        userId: "sess",
        challengeId: sent.body.challengeId,
        code: await h.latestCode("sess@example.com"),
      },
    });
    const sessionToken = String(verified.body.sessionToken);
    expect((await h.call("POST", "/v1/sessions/validate", { body: { sessionToken } })).body.valid).toBe(true);
    expect((await h.call("DELETE", "/v1/users/sess/sessions")).status).toBe(204);
    expect((await h.call("POST", "/v1/sessions/validate", { body: { sessionToken } })).body).toEqual({
      valid: false,
    });
  });

  it("locks TOTP, recovery and activation too: a locked user gets 423 even with a right code", async () => {
    const { secret, recoveryCodes } = await enrollTotp("lockall");
    for (let i = 0; i < 10; i++)
      await h.call("POST", "/v1/verifications", { body: { userId: "lockall", code: "0000000" } });
    const totp = await h.call("POST", "/v1/verifications", {
      body: { userId: "lockall", code: totpAt(secret, h.stack.clock.now()) },
    });
    expect(totp.status).toBe(423);
    const recovery = await h.call("POST", "/v1/verifications", {
      body: { userId: "lockall", code: recoveryCodes[0] },
    });
    expect(recovery.status).toBe(423);
    const enrolled = await h.call("POST", "/v1/users/lockall/factors", {
      body: { type: "email", email: "lockall@example.com" },
    });
    expect(enrolled.status).toBe(423);
    expect(recovery.body.lockedUntil).toBe(totp.body.lockedUntil);
    h.stack.clock.advance(1801);
    const after = await h.call("POST", "/v1/verifications", {
      body: { userId: "lockall", code: recoveryCodes[0] },
    });
    expect(after.status).toBe(200);
  });
});

describe("recovery code regeneration races", () => {
  it("two parallel regenerations: one wins with codes that work, the other is told 409", async () => {
    await enrollEmail(h, "regen-race");
    // A race needs both requests to read the user's state before either writes; left to the
    // scheduler, the first one sometimes finishes first, and both rightly succeed.
    const store = h.stack.deps.store;
    let reads = 0;
    let bothRead = () => {};
    const gate = new Promise<void>((resolve) => {
      bothRead = resolve;
    });
    h.stack.deps.store = new Proxy(store, {
      get(target, property) {
        if (property === "getUserState") {
          return async (appId: string, userId: string) => {
            const state = await target.getUserState(appId, userId);
            if (userId === "regen-race" && ++reads === 2) bothRead();
            await gate;
            return state;
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const replies = await Promise.all([
      h.call("POST", "/v1/users/regen-race/recovery-codes"),
      h.call("POST", "/v1/users/regen-race/recovery-codes"),
    ]).finally(() => {
      h.stack.deps.store = store;
    });
    expect(reads).toBe(2);
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409]);
    const winner = replies.find((r) => r.status === 201);
    const code = ((winner?.body.recoveryCodes ?? []) as string[])[0];
    const used = await h.call("POST", "/v1/verifications", { body: { userId: "regen-race", code } });
    expect(used.status).toBe(200);
  });
});

describe("findings of the second review", () => {
  it("a factor planted before MFA was on cannot be activated later without a step-up, nor after a day", async () => {
    const planted = await h.call("POST", "/v1/users/planted/factors", { body: { type: "totp" } });
    expect(planted.status).toBe(201);
    const secret = String(planted.body.secret);
    await enrollEmail(h, "planted");
    h.stack.clock.advance(301);
    const late = await h.call("POST", `/v1/users/planted/factors/${planted.body.factorId}/activate`, {
      body: { code: totpAt(secret, h.stack.clock.now()) },
    });
    expect(late.status).toBe(403);
    expect(late.body.code).toBe("step_up_required");
    h.stack.clock.advance(2 * 86_400);
    const gone = await h.call("POST", `/v1/users/planted/factors/${planted.body.factorId}/activate`, {
      body: { code: totpAt(secret, h.stack.clock.now()) },
    });
    expect(gone.status).toBe(404);
  });

  it("a legitimate double submit of a right TOTP code neither locks the user nor counts against them", async () => {
    const { secret } = await enrollTotp("double-totp");
    const typo = await h.call("POST", "/v1/verifications", {
      body: {
        userId: "double-totp",
        code: totpAt(secret, h.stack.clock.now()) === "000000" ? "111111" : "000000",
      },
    });
    expect(typo.status).toBe(422);
    const code = totpAt(secret, h.stack.clock.now());
    const both = await Promise.all([
      h.call("POST", "/v1/verifications", { body: { userId: "double-totp", code } }),
      h.call("POST", "/v1/verifications", { body: { userId: "double-totp", code } }),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 422]);
    const view = await h.call("GET", "/v1/admin/apps/default/users/double-totp", { auth: "admin" });
    expect(view.body).toMatchObject({ lockedUntil: null, failedAttempts: 0 });
    h.stack.clock.advance(PERIOD);
    const three = await Promise.all(
      [1, 2, 3].map(() =>
        h.call("POST", "/v1/verifications", {
          body: { userId: "double-totp", code: totpAt(secret, h.stack.clock.now()) },
        }),
      ),
    );
    expect(three.filter((r) => r.status === 200)).toHaveLength(1);
    const after = await h.call("GET", "/v1/admin/apps/default/users/double-totp", { auth: "admin" });
    expect(after.body).toMatchObject({ lockedUntil: null, failedAttempts: 0 });
  });

  it("refuses ill-formed text (a lone surrogate) with 400 rather than failing later", async () => {
    await enrollEmail(h, "surrogate");
    const label = await h.call("POST", "/v1/users/surrogate/factors", {
      rawBody: '{"type":"totp","label":"a\\udc00b"}',
    });
    expect(label.status).toBe(400);
    const app = await h.call("POST", "/v1/admin/apps", { auth: "admin", rawBody: '{"name":"\\ud800"}' });
    expect(app.status).toBe(400);
  });

  it("removing the last factor turns MFA off and ends the user's sessions", async () => {
    const { factorId } = await enrollEmail(h, "lastone");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "lastone", channel: "email" } });
    const verified = await h.call("POST", "/v1/verifications", {
      body: {
        userId: "lastone",
        challengeId: sent.body.challengeId,
        code: await h.latestCode("lastone@example.com"),
      },
    });
    h.stack.clock.advance(1);
    expect((await h.call("DELETE", `/v1/users/lastone/factors/${factorId}`)).status).toBe(204);
    const listed = await h.call("GET", "/v1/users/lastone/factors");
    expect(listed.body).toMatchObject({ enabled: false, recoveryCodesRemaining: 0 });
    const session = await h.call("POST", "/v1/sessions/validate", {
      body: { sessionToken: verified.body.sessionToken },
    });
    expect(session.body).toEqual({ valid: false });
  });
});
