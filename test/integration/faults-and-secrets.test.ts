import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DynamoAudit } from "#adapters/dynamodb-audit";
import { StoreUnavailable } from "#core/errors";
import type { AuditEvent, Store } from "#core/ports";
import { cloudLogger, logTo } from "#http/cloud-logger";
import { readableLine } from "#lib/local-log";
import { LOCAL_AWS } from "#lib/local-services";
import { TABLE_NAME } from "#lib/local-stack";
import { enrollEmail, type Harness, startHarness } from "../support/harness.ts";

let h: Harness;
let realStore: Store;
beforeAll(async () => {
  h = await startHarness();
  realStore = h.stack.deps.store;
});
afterAll(async () => {
  await h?.stop();
});

/** The real store, except that its `failAt`-th call (0-based, over all methods) throws as DynamoDB would. */
function failingStore(failAt: number, calls: string[]): Store {
  return new Proxy(realStore, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        if (calls.length - 1 === failAt) return Promise.reject(new StoreUnavailable(String(property)));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe("fail closed: a store fault at any call is a 503, never an approval", () => {
  it("verify of a right code fails closed wherever the store fails", async () => {
    await enrollEmail(h, "faulty");
    const probe: string[] = [];
    h.stack.deps.store = failingStore(-1, probe);
    const first = await h.call("POST", "/v1/challenges", { body: { userId: "faulty", channel: "email" } });
    probe.length = 0;
    h.stack.deps.store = failingStore(-1, probe);
    const ok = await h.call("POST", "/v1/verifications", {
      body: {
        userId: "faulty",
        challengeId: first.body.challengeId,
        code: await h.latestCode("faulty@example.com"),
      },
    });
    expect(ok.status).toBe(200);
    const callsOfVerify = probe.length;
    expect(callsOfVerify).toBeGreaterThanOrEqual(3);

    for (let failAt = 0; failAt < callsOfVerify; failAt++) {
      h.stack.deps.store = realStore;
      const sent = await h.call("POST", "/v1/challenges", { body: { userId: "faulty", channel: "email" } });
      expect(sent.status).toBe(201);
      const code = await h.latestCode("faulty@example.com");
      const calls: string[] = [];
      h.stack.deps.store = failingStore(failAt, calls);
      const reply = await h.call("POST", "/v1/verifications", {
        body: { userId: "faulty", challengeId: sent.body.challengeId, code },
      });
      expect(reply.status, `store failing at ${calls[failAt]}`).toBe(503);
      expect(reply.body).toMatchObject({ code: "unavailable" });
      expect(reply.body.sessionToken).toBeUndefined();
      h.stack.deps.store = realStore;
      h.stack.clock.advance(901); // new send window for the next round
    }
  });

  it("a send whose store fails answers 503 and sends nothing", async () => {
    await enrollEmail(h, "faulty-send");
    const before = (await h.stack.outboxMessages("faulty-send@example.com")).length;
    h.stack.deps.store = failingStore(3, []);
    const reply = await h.call("POST", "/v1/challenges", {
      body: { userId: "faulty-send", channel: "email" },
    });
    h.stack.deps.store = realStore;
    expect(reply.status).toBe(503);
    expect((await h.stack.outboxMessages("faulty-send@example.com")).length).toBe(before);
  });
});

describe("secrets never reach a log, an error or another response", () => {
  it("runs every flow with canary values and finds none of them in logs or error bodies", async () => {
    const seen: string[] = [];
    const errorBodies: string[] = [];
    const email = "canary.user@example.com";
    const enrolled = await h.call("POST", "/v1/users/canary/factors", { body: { type: "email", email } });
    const activationCode = await h.latestCode(email);
    seen.push(activationCode);
    const wrongActivation = await h.call(
      "POST",
      `/v1/users/canary/factors/${enrolled.body.factorId}/activate`,
      {
        body: { code: "7777777777" },
      },
    );
    errorBodies.push(wrongActivation.text);
    const activated = await h.call("POST", `/v1/users/canary/factors/${enrolled.body.factorId}/activate`, {
      body: { code: activationCode },
    });
    const recovery = activated.body.recoveryCodes as string[];
    seen.push(...recovery);
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "canary", channel: "email" } });
    const code = await h.latestCode(email);
    seen.push(code);
    errorBodies.push(
      (
        await h.call("POST", "/v1/verifications", {
          body: { userId: "canary", challengeId: sent.body.challengeId, code: "1234567890" },
        })
      ).text,
    );
    const verified = await h.call("POST", "/v1/verifications", {
      body: { userId: "canary", challengeId: sent.body.challengeId, code },
    });
    const token = String(verified.body.sessionToken);
    seen.push(token);
    await h.call("POST", "/v1/sessions/validate", { body: { sessionToken: token } });
    errorBodies.push(
      (await h.call("POST", "/v1/verifications", { body: { userId: "canary", code: recovery[1] } })).text,
    );
    errorBodies.push(
      (await h.call("POST", "/v1/verifications", { body: { userId: "canary", code: recovery[1] } })).text,
    );
    errorBodies.push((await h.call("GET", "/v1/admin/apps/default/config", { auth: "client" })).text);
    errorBodies.push((await h.call("GET", "/v1/users/canary/factors", { auth: "otpk_canary-key" })).text);
    seen.push(h.stack.credentials.apiKey, h.stack.credentials.adminToken, "otpk_canary-key");

    // an authenticator app (its secret is shown once, at enrollment) and provider credentials
    // the verification above is a fresh step-up, so a further factor may be added
    const totp = await h.call("POST", "/v1/users/canary/factors", { body: { type: "totp" } });
    expect(totp.status).toBe(201);
    seen.push(String(totp.body.secret));
    const twilioToken = "canary-twilio-token-0123456789abcdef";
    const sinchSecret = "Y2FuYXJ5LXNpbmNoLXNlY3JldA==";
    await h.call("PUT", "/v1/admin/secrets/twilio", {
      auth: "admin",
      body: { accountSid: `AC${"c".repeat(32)}`, authToken: twilioToken },
    });
    await h.call("PUT", "/v1/admin/secrets/sinch-verification-api", {
      auth: "admin",
      body: { authenticationId: "canary-key", secret: sinchSecret },
    });
    seen.push(twilioToken, sinchSecret);
    errorBodies.push((await h.call("GET", "/v1/admin/secrets", { auth: "admin" })).text);
    errorBodies.push((await h.call("GET", "/v1/users/canary/factors")).text);
    const audit = await h.call("GET", "/v1/admin/apps/default/audit?limit=100", { auth: "admin" });
    const service = await h.call("GET", "/v1/admin/apps/_service/audit?limit=100", { auth: "admin" });
    errorBodies.push(audit.text, service.text);

    // The same entries as the Lambdas write them (Powertools Logger, JSON on stdout) and as
    // `npm start` prints them (readable lines): a secret in any field or error would show.
    const written: string[] = [];
    const out = vi
      .spyOn(process.stdout, "write")
      .mockImplementation((chunk) => written.push(String(chunk)) > 0);
    const err = vi
      .spyOn(process.stderr, "write")
      .mockImplementation((chunk) => written.push(String(chunk)) > 0);
    try {
      const cloud = logTo(cloudLogger());
      for (const entry of h.logs) cloud(entry);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(written.length).toBe(h.logs.length);
    const logs = [JSON.stringify(h.logs), ...written, ...h.logs.map((entry) => readableLine(entry))].join(
      "\n",
    );
    expect(h.logs.length).toBeGreaterThan(10);
    for (const secret of seen) {
      expect(logs).not.toContain(secret);
      for (const body of errorBodies) expect(body).not.toContain(secret);
    }
    expect(logs).not.toContain(email);
    expect(errorBodies.join()).not.toContain("1234567890");
  });
});

describe("a lost audit write", () => {
  it("never costs the caller what was already done: recovery codes and sessions are still returned", async () => {
    const lost: AuditEvent[] = [];
    const unreachable = DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...LOCAL_AWS, endpoint: "http://127.0.0.1:9", maxAttempts: 1 }),
    );
    const realAudit = h.stack.deps.audit;
    h.stack.deps.audit = new DynamoAudit(unreachable, {
      tableName: TABLE_NAME,
      onLost: (event) => lost.push(event),
    });
    try {
      const { recoveryCodes } = await enrollEmail(h, "auditless");
      expect(recoveryCodes).toHaveLength(10);
      const sent = await h.call("POST", "/v1/challenges", {
        body: { userId: "auditless", channel: "email" },
      });
      const verified = await h.call("POST", "/v1/verifications", {
        body: {
          userId: "auditless",
          challengeId: sent.body.challengeId,
          code: await h.latestCode("auditless@example.com"),
        },
      });
      expect(verified.status).toBe(200);
      expect(verified.body.sessionToken).toEqual(expect.any(String));
    } finally {
      h.stack.deps.audit = realAudit;
    }
    expect(lost.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        "factor.enrolled",
        "factor.activated",
        "challenge.sent",
        "verification.approved",
      ]),
    );
    expect(JSON.stringify(lost)).not.toContain("auditless@example.com");
  });
});
