import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { Validator } from "@seriousme/openapi-schema-validator";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operationDocs } from "#http/openapi";
import { buildEvent } from "#lib/local-server";
import { LOCAL_AWS } from "#lib/local-services";
import { TABLE_NAME } from "#lib/local-stack";
import { routes } from "#lib/routes";
import { enrollEmail, type Harness, startHarness } from "../support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

async function login(userId: string) {
  const sent = await h.call("POST", "/v1/challenges", { body: { userId, channel: "email" } });
  const verified = await h.call("POST", "/v1/verifications", {
    body: { userId, challengeId: sent.body.challengeId, code: await h.latestCode(`${userId}@example.com`) },
  });
  expect(verified.status).toBe(200);
  return String(verified.body.sessionToken);
}

describe("apps and API keys", () => {
  it("lists apps, adds a key that works beside the old one, and revokes a key at once locally", async () => {
    const created = await h.call("POST", "/v1/admin/apps", { auth: "admin", body: { name: "Billing" } });
    const appId = String(created.body.appId);
    const listed = await h.call("GET", "/v1/admin/apps", { auth: "admin" });
    expect(listed.body.apps).toEqual(
      expect.arrayContaining([
        { appId: "default", name: "Default app", createdAt: expect.any(String) },
        { appId, name: "Billing", createdAt: expect.any(String) },
      ]),
    );
    const second = await h.call("POST", `/v1/admin/apps/${appId}/api-keys`, { auth: "admin" });
    expect(second.status).toBe(201);
    expect(second.body).toEqual({
      apiKey: expect.stringMatching(/^otpk_/),
      keyId: expect.stringMatching(/^key_/),
    });
    const first = String(created.body.apiKey);
    for (const key of [first, String(second.body.apiKey)]) {
      expect((await h.call("GET", "/v1/users/u/factors", { auth: key })).status).toBe(200);
    }
    const revoked = await h.call("DELETE", `/v1/admin/apps/${appId}/api-keys/${created.body.keyId}`, {
      auth: "admin",
    });
    expect(revoked.status).toBe(204);
    expect((await h.call("GET", "/v1/users/u/factors", { auth: first })).status).toBe(401);
    expect((await h.call("GET", "/v1/users/u/factors", { auth: String(second.body.apiKey) })).status).toBe(
      200,
    );
    const unknown = await h.call("DELETE", `/v1/admin/apps/${appId}/api-keys/key_nope`, { auth: "admin" });
    expect(unknown.status).toBe(404);
    // a key of one app cannot be revoked through another app
    const cross = await h.call("DELETE", `/v1/admin/apps/default/api-keys/${second.body.keyId}`, {
      auth: "admin",
    });
    expect(cross.status).toBe(404);
  });

  it("never validates one app's sessions with another app's key", async () => {
    await enrollEmail(h, "crossapp");
    const token = await login("crossapp");
    const other = await h.call("POST", "/v1/admin/apps", { auth: "admin", body: { name: "Other" } });
    const reply = await h.call("POST", "/v1/sessions/validate", {
      auth: String(other.body.apiKey),
      body: { sessionToken: token },
    });
    expect(reply.body).toEqual({ valid: false });
  });
});

describe("users: view, unlock, and forcing everyone to log in again", () => {
  it("shows state, masked factors and counts, and unlocks", async () => {
    await enrollEmail(h, "viewed");
    await login("viewed");
    await login("viewed");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "viewed", channel: "email" } });
    for (let i = 0; i < 3; i++) {
      await h.call("POST", "/v1/verifications", {
        body: { userId: "viewed", challengeId: sent.body.challengeId, code: "0000000" },
      });
    }
    const view = await h.call("GET", "/v1/admin/apps/default/users/viewed", { auth: "admin" });
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({
      userId: "viewed",
      enabled: true,
      lockedUntil: expect.any(String),
      failedAttempts: 0,
      recoveryCodesRemaining: 10,
      activeSessions: 2,
      factors: [{ type: "email", status: "active", destination: "v***@example.com" }],
    });
    expect(view.text).not.toContain("viewed@example.com");
    expect(
      (await h.call("POST", "/v1/admin/apps/default/users/viewed/unlock", { auth: "admin" })).status,
    ).toBe(204);
    const after = await h.call("GET", "/v1/admin/apps/default/users/viewed", { auth: "admin" });
    expect(after.body).toMatchObject({ lockedUntil: null, failedAttempts: 0 });
    await login("viewed");
  });

  it("revoke-all stops every session issued before it, but not later ones", async () => {
    await enrollEmail(h, "everyone");
    const before = await login("everyone");
    h.stack.clock.advance(1);
    expect(
      (await h.call("POST", "/v1/admin/apps/default/sessions/revoke-all", { auth: "admin" })).status,
    ).toBe(204);
    expect((await h.call("POST", "/v1/sessions/validate", { body: { sessionToken: before } })).body).toEqual({
      valid: false,
    });
    h.stack.clock.advance(1);
    const later = await login("everyone");
    expect(
      (await h.call("POST", "/v1/sessions/validate", { body: { sessionToken: later } })).body.valid,
    ).toBe(true);
    const view = await h.call("GET", "/v1/admin/apps/default/users/everyone", { auth: "admin" });
    expect(view.body.activeSessions).toBe(1);
  });
});

describe("audit log", () => {
  it("records every step of a user's flow, newest first, masked, with no secret", async () => {
    const { recoveryCodes } = await enrollEmail(h, "audited");
    const token = await login("audited");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "audited", channel: "email" } });
    const code = await h.latestCode("audited@example.com");
    await h.call("POST", "/v1/verifications", {
      body: {
        userId: "audited",
        challengeId: sent.body.challengeId,
        code: code === "000000" ? "111111" : "000000",
      },
    });
    const page = await h.call("GET", "/v1/admin/apps/default/audit?userId=audited&limit=100", {
      auth: "admin",
    });
    expect(page.status).toBe(200);
    const events = page.body.events as {
      at: string;
      type: string;
      outcome: string;
      channel?: string;
      destination?: string;
      userId: string;
    }[];
    expect(events.map((e) => e.type)).toEqual([
      "verification.denied",
      "challenge.sent",
      "verification.approved",
      "challenge.sent",
      "factor.activated",
      "factor.enrolled",
      "challenge.sent",
    ]);
    expect(events[0]).toMatchObject({ outcome: "invalid_code", userId: "audited", ip: "127.0.0.1" });
    expect(events[1]).toMatchObject({ channel: "email", destination: "a***@example.com", outcome: "sent" });
    const sorted = [...events].sort((a, b) => b.at.localeCompare(a.at));
    expect(events.map((e) => e.at)).toEqual(sorted.map((e) => e.at));
    const text = page.text;
    for (const secret of [code, token, "audited@example.com", ...recoveryCodes])
      expect(text).not.toContain(secret);
  });

  it("records locks, admin actions and config changes, and pages with an opaque cursor", async () => {
    await enrollEmail(h, "pager");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "pager", channel: "email" } });
    for (let i = 0; i < 3; i++) {
      await h.call("POST", "/v1/verifications", {
        body: { userId: "pager", challengeId: sent.body.challengeId, code: "0000000" },
      });
    }
    const userEvents = await h.call("GET", "/v1/admin/apps/default/audit?userId=pager&limit=3", {
      auth: "admin",
    });
    expect((userEvents.body.events as { type: string }[]).map((e) => e.type)).toEqual([
      "verification.denied",
      "user.locked",
      "verification.denied",
    ]);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pageNo = 0; pageNo < 50; pageNo++) {
      const query: string = `?userId=pager&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await h.call("GET", `/v1/admin/apps/default/audit${query}`, { auth: "admin" });
      seen.push(...(page.body.events as { type: string }[]).map((e) => e.type));
      cursor = page.body.nextCursor as string | null;
      if (!cursor) break;
    }
    const all = await h.call("GET", "/v1/admin/apps/default/audit?userId=pager&limit=100", { auth: "admin" });
    expect(seen).toEqual((all.body.events as { type: string }[]).map((e) => e.type));

    const appWide = await h.call("GET", "/v1/admin/apps/default/audit?limit=100", { auth: "admin" });
    const types = new Set((appWide.body.events as { type: string }[]).map((e) => e.type));
    for (const type of ["app.created", "apikey.created", "sessions.revoked", "user.unlocked"])
      expect(types).toContain(type);

    await h.call("POST", "/v1/challenges", { body: { userId: "nobody-here" } });
    const noFactor = await h.call("GET", "/v1/admin/apps/default/audit?userId=nobody-here", {
      auth: "admin",
    });
    expect(noFactor.body.events).toEqual([
      expect.objectContaining({ type: "challenge.sent", outcome: "no_factor", channel: "sms" }),
    ]);

    const bad = await h.call("GET", "/v1/admin/apps/default/audit?cursor=bm9wZQ", { auth: "admin" });
    expect(bad.status).toBe(400);
    expect((await h.call("GET", "/v1/admin/apps/default/audit?limit=0", { auth: "admin" })).status).toBe(400);
  });

  it("keeps events 400 days by TTL, and records provider secret changes service-wide", async () => {
    await h.call("PUT", "/v1/admin/secrets/twilio", {
      auth: "admin",
      body: { accountSid: `AC${"0".repeat(32)}`, authToken: "t".repeat(32) },
    });
    const service = await h.call("GET", "/v1/admin/apps/_service/audit", { auth: "admin" });
    expect(service.body.events).toEqual([
      expect.objectContaining({ type: "secret.updated", target: "twilio", outcome: "updated" }),
    ]);
    expect(service.text).not.toContain("t".repeat(32));
  });
});

describe("stored config is validated when loaded", () => {
  it("reports a bad stored value instead of using it", async () => {
    const created = await h.call("POST", "/v1/admin/apps", { auth: "admin", body: { name: "Broken" } });
    const appId = String(created.body.appId);
    const db = new DynamoDBClient({ ...LOCAL_AWS, endpoint: h.stack.dynamoEndpoint });
    await db.send(
      new PutItemCommand({
        TableName: TABLE_NAME,
        Item: {
          pk: { S: `APP#${appId}` },
          sk: { S: "CONFIG" },
          configJson: { S: JSON.stringify({ code: { length: 3 } }) },
          version: { N: "2" },
        },
      }),
    );
    db.destroy();
    const reply = await h.call("POST", "/v1/challenges", {
      auth: String(created.body.apiKey),
      body: { userId: "x" },
    });
    expect(reply.status).toBe(503);
    expect(reply.body).toMatchObject({ code: "unavailable" });
    expect(String(reply.body.detail)).toContain("stored configuration");
    expect(reply.headers["retry-after"]).toBeUndefined();
    // The admin sees what is stored, to repair it; the doctor names the bad path.
    const admin = await h.call("GET", `/v1/admin/apps/${appId}/config`, { auth: "admin" });
    expect(admin.status).toBe(200);
    expect(admin.body).toEqual({ code: { length: 3 }, version: 2 });
    const doctor = await h.call("GET", `/v1/admin/apps/${appId}/doctor`, { auth: "admin" });
    expect(doctor.body).toMatchObject({ ready: false, checks: [{ id: "config.valid", ok: false }] });
    expect(String((doctor.body.checks as { detail: string }[])[0]?.detail)).toContain("code.length");
  });
});

describe("the OpenAPI contract", () => {
  it("is served publicly and validates as OpenAPI 3.1", async () => {
    const reply = await h.http("GET", "/openapi.json", { auth: null });
    expect(reply.status).toBe(200);
    expect(reply.body.openapi).toBe("3.1.0");
    // Its `servers` come from the request: cached per host and scheme only.
    expect(reply.headers.vary).toBe("Host, X-Forwarded-Proto");
    const result = await new Validator().validate(reply.body as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("documents every deployed route, and routes every documented operation", async () => {
    const doc = (await h.call("GET", "/openapi.json", { auth: null })).body as {
      paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
    };
    const deployed = routes
      .filter((r) => r.fn !== "local")
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(deployed);
    expect(Object.keys(operationDocs).sort()).toEqual(deployed);
    const challenges = doc.paths["/v1/challenges"]?.post;
    expect(Object.keys(challenges?.responses ?? {}).sort()).toEqual([
      "201",
      "400",
      "401",
      "404",
      "409",
      "422",
      "423",
      "429",
      "502",
      "503",
    ]);
    expect(JSON.stringify(challenges?.requestBody)).toContain('"userId"');
  });
});

describe("admin identity", () => {
  it("records who acted: local-admin locally, the IAM principal behind API Gateway's IAM authorizer", async () => {
    await enrollEmail(h, "acted-on");
    await h.call("POST", "/v1/admin/apps/default/users/acted-on/unlock", { auth: "admin" });
    const realAuth = h.stack.deps.adminAuth;
    h.stack.deps.adminAuth = { kind: "iam" };
    try {
      const event = buildEvent({ method: "POST", path: "/v1/admin/apps/default/sessions/revoke-all" });
      const unsigned = (await h.stack.handlers["admin-config"](event, {} as Context)) as {
        statusCode: number;
      };
      expect(unsigned.statusCode).toBe(401);
      (event.requestContext as unknown as Record<string, unknown>).authorizer = {
        iam: { userArn: "arn:aws:iam::123456789012:user/ops", callerId: "AIDAEXAMPLE" },
      };
      const signed = (await h.stack.handlers["admin-config"](event, {} as Context)) as { statusCode: number };
      expect(signed.statusCode).toBe(204);
    } finally {
      h.stack.deps.adminAuth = realAuth;
    }
    const events = (await h.call("GET", "/v1/admin/apps/default/audit?limit=20", { auth: "admin" })).body
      .events as { type: string; actor?: string; userId?: string }[];
    expect(events.find((e) => e.type === "sessions.revoked")?.actor).toBe(
      "arn:aws:iam::123456789012:user/ops",
    );
    expect(events.find((e) => e.type === "user.unlocked" && e.userId === "acted-on")?.actor).toBe(
      "local-admin",
    );
  });
});
