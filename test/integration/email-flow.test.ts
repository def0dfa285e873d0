import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_AWS } from "#lib/local-services";
import { LOCAL_FROM_ADDRESS, TABLE_NAME } from "#lib/local-stack";
import { enrollEmail, type Harness, putConfig, startHarness } from "../support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe("email codes end to end on dynalite and aws-ses-v2-local", () => {
  it("enrolls, activates with recovery codes, sends, verifies and validates a session", async () => {
    const enrolled = await h.call("POST", "/v1/users/alice/factors", {
      body: { type: "email", email: "alice@example.com" },
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body).toMatchObject({
      type: "email",
      status: "pending",
      destination: "a***@example.com",
    });
    expect(enrolled.body.challengeId).toMatch(/^ch_/);
    expect(Date.parse(String(enrolled.body.expiresAt)) - Date.now()).toBeGreaterThan(290_000);

    const before = await h.call("GET", "/v1/users/alice/factors");
    expect(before.body).toMatchObject({ userId: "alice", enabled: false, recoveryCodesRemaining: 0 });

    const activated = await h.call("POST", `/v1/users/alice/factors/${enrolled.body.factorId}/activate`, {
      body: { code: await h.latestCode("alice@example.com") },
    });
    expect(activated.status).toBe(200);
    expect(activated.body.factor).toMatchObject({ status: "active", destination: "a***@example.com" });
    const recovery = activated.body.recoveryCodes as string[];
    expect(recovery).toHaveLength(10);
    for (const code of recovery) expect(code).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);

    const listed = await h.call("GET", "/v1/users/alice/factors");
    expect(listed.body).toMatchObject({
      enabled: true,
      enrollmentRequired: false,
      recoveryCodesRemaining: 10,
    });
    expect(listed.body.factors).toEqual([
      expect.objectContaining({ type: "email", status: "active", destination: "a***@example.com" }),
    ]);
    expect(JSON.stringify(listed.body)).not.toContain("alice@example.com");

    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "alice", channel: "email" } });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({
      channel: "email",
      destination: "a***@example.com",
      fallbackUsed: false,
    });

    const verified = await h.call("POST", "/v1/verifications", {
      body: {
        userId: "alice",
        challengeId: sent.body.challengeId,
        code: await h.latestCode("alice@example.com"),
      },
    });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ status: "approved", method: "email", recoveryCodesRemaining: 10 });
    const token = String(verified.body.sessionToken);
    expect(Buffer.from(token.replace(/^otps_/, ""), "base64url").length).toBeGreaterThanOrEqual(32);

    const valid = await h.call("POST", "/v1/sessions/validate", { body: { sessionToken: token } });
    expect(valid.body).toMatchObject({ valid: true, userId: "alice" });
    expect(valid.body.expiresAt).toBe(verified.body.sessionExpiresAt);

    const listedAfter = await h.call("GET", "/v1/users/alice/factors");
    expect((listedAfter.body.factors as { lastUsedAt: string | null }[])[0]?.lastUsedAt).not.toBeNull();
  });

  it("delivers email through the real SES adapter into aws-ses-v2-local", async () => {
    await h.call("POST", "/v1/users/sesuser/factors", {
      body: { type: "email", email: "ses.user@example.com" },
    });
    const store = (await (await fetch(`${h.stack.sesEndpoint}/store`)).json()) as {
      emails: {
        destination: { to: string[] };
        subject: string;
        body: { text: string; html: string };
        from: string;
      }[];
    };
    const mail = store.emails.find((e) => e.destination.to.includes("ses.user@example.com"));
    expect(mail?.subject).toBe("Your Default app verification code");
    expect(mail?.from).toContain(LOCAL_FROM_ADDRESS);
    expect(mail?.body.text).toMatch(/code is \d{6}\./);
    expect(mail?.body.html).toMatch(/<strong>\d{6}<\/strong>/);
  });

  it("uses the app's template and code length", async () => {
    let saved: unknown;
    await putConfig(h, "default", (config) => {
      saved = structuredClone(config.templates);
      const templates = config.templates as Record<string, Record<string, string>>;
      (config.code as Record<string, unknown>).length = 8;
      templates.en = {
        ...templates.en,
        emailSubject: "Code for {app}",
        emailText: "Use {code} within {minutes} minutes",
      };
    });
    await h.call("POST", "/v1/users/tpl/factors", { body: { type: "email", email: "tpl@example.com" } });
    const [message] = await h.stack.outboxMessages("tpl@example.com");
    expect(message?.subject).toBe("Code for Default app");
    expect(message?.body).toMatch(/^Use \d{8} within 5 minutes$/);
    await putConfig(h, "default", (config) => {
      (config.code as Record<string, unknown>).length = 6;
      config.templates = saved;
    });
  });

  it("keeps no plaintext code in the table (only its HMAC)", async () => {
    const { factorId } = await enrollEmail(h, "scan");
    expect(factorId).toMatch(/^fac_/);
    await h.call("POST", "/v1/challenges", { body: { userId: "scan", channel: "email" } });
    const code = await h.latestCode("scan@example.com");
    const db = new DynamoDBClient({ ...LOCAL_AWS, endpoint: h.stack.dynamoEndpoint });
    const scan = await db.send(new ScanCommand({ TableName: TABLE_NAME }));
    db.destroy();
    const dump = JSON.stringify(scan.Items);
    // the code's challenge lives in the user item, as a 128-bit HMAC
    expect(dump).toContain('"challenges"');
    expect(dump).not.toContain(code);
    expect(dump).not.toContain(h.stack.credentials.apiKey);
  });

  it("rejects a code one second after its ttl even though the item still exists", async () => {
    await enrollEmail(h, "expiry");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "expiry", channel: "email" } });
    const code = await h.latestCode("expiry@example.com");
    h.stack.clock.advance(300 + 1);
    const late = await h.call("POST", "/v1/verifications", {
      body: { userId: "expiry", challengeId: sent.body.challengeId, code },
    });
    expect(late.status).toBe(410);
    expect(late.body.code).toBe("code_expired");
  });

  it("answers a used code with 410 and a code for another user's challenge with 404", async () => {
    await enrollEmail(h, "once");
    await enrollEmail(h, "other");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "once", channel: "email" } });
    const code = await h.latestCode("once@example.com");
    const body = { userId: "once", challengeId: sent.body.challengeId, code };
    expect((await h.call("POST", "/v1/verifications", { body })).status).toBe(200);
    const again = await h.call("POST", "/v1/verifications", { body });
    expect(again.status).toBe(410);
    const crossUser = await h.call("POST", "/v1/verifications", { body: { ...body, userId: "other" } });
    expect(crossUser.status).toBe(404);
    expect(crossUser.body.code).toBe("challenge_not_found");
  });

  it("supersedes an earlier challenge when a new one is sent", async () => {
    await enrollEmail(h, "resend");
    const first = await h.call("POST", "/v1/challenges", { body: { userId: "resend", channel: "email" } });
    const firstCode = await h.latestCode("resend@example.com");
    const second = await h.call("POST", "/v1/challenges", { body: { userId: "resend", channel: "email" } });
    const old = await h.call("POST", "/v1/verifications", {
      body: { userId: "resend", challengeId: first.body.challengeId, code: firstCode },
    });
    expect(old.status).toBe(410);
    const fresh = await h.call("POST", "/v1/verifications", {
      body: {
        userId: "resend",
        challengeId: second.body.challengeId,
        code: await h.latestCode("resend@example.com"),
      },
    });
    expect(fresh.status).toBe(200);
  });

  it("falls back to email when the user has no sms factor", async () => {
    await enrollEmail(h, "fallback");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "fallback" } });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ channel: "email", fallbackUsed: true });
    const none = await h.call("POST", "/v1/challenges", { body: { userId: "nobody" } });
    expect(none.status).toBe(404);
    expect(none.body.code).toBe("no_factor");
  });

  it("locks after 3 wrong codes across two challenges, then refuses even the right code", async () => {
    await enrollEmail(h, "brute");
    const one = await h.call("POST", "/v1/challenges", { body: { userId: "brute", channel: "email" } });
    const wrong = (challengeId: unknown) =>
      h.call("POST", "/v1/verifications", { body: { userId: "brute", challengeId, code: "0000000" } });
    const first = await wrong(one.body.challengeId);
    expect(first.status).toBe(422);
    expect(first.body).toMatchObject({ code: "invalid_code", attemptsRemaining: 2 });
    const two = await h.call("POST", "/v1/challenges", { body: { userId: "brute", channel: "email" } });
    expect((await wrong(two.body.challengeId)).body.attemptsRemaining).toBe(1);
    const locking = await wrong(two.body.challengeId);
    expect(locking.status).toBe(423);
    const lockedUntil = String(locking.body.lockedUntil);
    expect(Date.parse(lockedUntil) - h.stack.clock.now()).toBeGreaterThan(1_790_000);

    const right = await h.call("POST", "/v1/verifications", {
      body: {
        userId: "brute",
        challengeId: two.body.challengeId,
        code: await h.latestCode("brute@example.com"),
      },
    });
    expect(right.status).toBe(423);
    expect(right.body.lockedUntil).toBe(lockedUntil);
    const send = await h.call("POST", "/v1/challenges", { body: { userId: "brute", channel: "email" } });
    expect(send.status).toBe(423);

    h.stack.clock.advance(1801);
    const after = await h.call("POST", "/v1/challenges", { body: { userId: "brute", channel: "email" } });
    expect(after.status).toBe(201);
    const ok = await h.call("POST", "/v1/verifications", {
      body: {
        userId: "brute",
        challengeId: after.body.challengeId,
        code: await h.latestCode("brute@example.com"),
      },
    });
    expect(ok.status).toBe(200);
  });

  it("answers the (max+1)th send with 429 and Retry-After, without sending", async () => {
    await enrollEmail(h, "limit");
    for (let i = 0; i < 4; i++) {
      // enrollment counted one send; 4 more reach the default maximum of 5
      expect(
        (await h.call("POST", "/v1/challenges", { body: { userId: "limit", channel: "email" } })).status,
      ).toBe(201);
    }
    const sentBefore = (await h.stack.outboxMessages("limit@example.com")).length;
    const limited = await h.call("POST", "/v1/challenges", { body: { userId: "limit", channel: "email" } });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe("rate_limited");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(890);
    expect(limited.body.retryAfterSeconds).toBe(Number(limited.headers["retry-after"]));
    expect((await h.stack.outboxMessages("limit@example.com")).length).toBe(sentBefore);
    h.stack.clock.advance(901);
    expect(
      (await h.call("POST", "/v1/challenges", { body: { userId: "limit", channel: "email" } })).status,
    ).toBe(201);
  });

  it("accepts a recovery code once", async () => {
    const { recoveryCodes } = await enrollEmail(h, "recover");
    const code = recoveryCodes[0] ?? "";
    const used = await h.call("POST", "/v1/verifications", {
      body: { userId: "recover", code: code.toUpperCase() },
    });
    expect(used.status).toBe(200);
    expect(used.body).toMatchObject({ method: "recovery", recoveryCodesRemaining: 9 });
    const again = await h.call("POST", "/v1/verifications", { body: { userId: "recover", code } });
    expect(again.status).toBe(410);
    expect(again.body.code).toBe("code_expired");
    const wrong = await h.call("POST", "/v1/verifications", {
      body: { userId: "recover", code: "aaaa-aaaa-aaaa" },
    });
    expect(wrong.status).toBe(422);
  });
});
