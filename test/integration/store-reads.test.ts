import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DynamoStore } from "#adapters/dynamodb-store";
import type { Store } from "#core/ports";
import { LOCAL_AWS } from "#lib/local-services";
import { TABLE_NAME } from "#lib/local-stack";
import { enrollEmail, type Harness, startHarness } from "../support/harness.ts";

let h: Harness;
let localStore: Store;
beforeAll(async () => {
  h = await startHarness();
  localStore = h.stack.deps.store;
});
afterAll(async () => {
  await h?.stop();
});
afterEach(() => {
  h.stack.deps.store = localStore;
  vi.useRealTimers();
});

interface SeenRead {
  command: string;
  consistent: boolean;
}

/** A DynamoStore on a client that records every read command and whether it was strongly consistent. */
function recordingStore(settings: { appCacheMs?: number; apiKeyCacheMs?: number } = {}) {
  const reads: SeenRead[] = [];
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: h.stack.dynamoEndpoint });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ConsistentRead?: boolean };
      if (/^(Get|Query|BatchGet|Scan)/.test(context.commandName ?? "")) {
        reads.push({ command: context.commandName ?? "", consistent: input.ConsistentRead === true });
      }
      return next(args);
    },
    { step: "initialize" },
  );
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { reads, store: new DynamoStore(documents, { tableName: TABLE_NAME, ...settings }) };
}

describe("reads that decide (SECURITY rule 16)", () => {
  it("every store read of send, verify, enroll and activate is strongly consistent, and none is a Scan", async () => {
    const { reads, store } = recordingStore();
    h.stack.deps.store = store;
    await enrollEmail(h, "consistent");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "consistent", channel: "email" } });
    await h.call("POST", "/v1/verifications", {
      body: { userId: "consistent", challengeId: sent.body.challengeId, code: "0000000" },
    });
    await h.call("POST", "/v1/verifications", {
      body: {
        userId: "consistent",
        challengeId: sent.body.challengeId,
        code: await h.latestCode("consistent@example.com"),
      },
    });
    await h.call("GET", "/v1/users/consistent/factors");
    expect(reads.length).toBeGreaterThan(10);
    expect(reads.filter((r) => !r.consistent)).toEqual([]);
    expect(reads.map((r) => r.command)).not.toContain("ScanCommand");
  });
});

describe("revoked API keys with the cloud's 60 s key cache (SECURITY rule 31)", () => {
  it("are refused within 60 s", async () => {
    const created = await h.call("POST", "/v1/admin/apps", { auth: "admin", body: { name: "Cached" } });
    const appId = String(created.body.appId);
    const key = String(created.body.apiKey);
    const admin = recordingStore();
    const cloudLike = recordingStore({ appCacheMs: 10_000, apiKeyCacheMs: 60_000 });
    vi.useFakeTimers({ toFake: ["Date"] });
    // the client functions cache the key; the admin function (a different Lambda) revokes it
    h.stack.deps.store = cloudLike.store;
    expect((await h.call("GET", "/v1/users/u/factors", { auth: key })).status).toBe(200);
    h.stack.deps.store = admin.store;
    expect(
      (await h.call("DELETE", `/v1/admin/apps/${appId}/api-keys/${created.body.keyId}`, { auth: "admin" }))
        .status,
    ).toBe(204);
    h.stack.deps.store = cloudLike.store;
    vi.advanceTimersByTime(59_000);
    const stillCached = await h.call("GET", "/v1/users/u/factors", { auth: key });
    vi.advanceTimersByTime(1_001);
    const refused = await h.call("GET", "/v1/users/u/factors", { auth: key });
    expect(stillCached.status).toBe(200);
    expect(refused.status).toBe(401);
  });
});
