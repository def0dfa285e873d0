import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EventBridgeBus } from "#adapters/eventbridge-bus";
import type { AuditEvent } from "#core/ports";

/**
 * EventBridge does not run here: this endpoint answers PutEvents in its wire format (AWS JSON
 * 1.1, `X-Amz-Target: AWSEvents.PutEvents`) and keeps what the SDK sent.
 */
let server: Server;
let url = "";
const calls: { target?: string; body: { Entries: Record<string, unknown>[] } }[] = [];
let answer: (entries: number) => { status: number; body: unknown } = () => ({ status: 200, body: {} });

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk) => {
      text += chunk;
    });
    req.on("end", () => {
      const body = JSON.parse(text);
      calls.push({ target: req.headers["x-amz-target"] as string | undefined, body });
      const reply = answer(body.Entries.length);
      res
        .writeHead(reply.status, { "content-type": "application/x-amz-json-1.1" })
        .end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  calls.length = 0;
  answer = (n) => ({
    status: 200,
    body: { FailedEntryCount: 0, Entries: Array.from({ length: n }, (_, i) => ({ EventId: `e${i}` })) },
  });
});

const client = (endpoint = url) =>
  new EventBridgeClient({
    endpoint,
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" },
    maxAttempts: 1,
  });

const event = (i: number): AuditEvent => ({
  id: `id${i}`,
  appId: "shop",
  type: "verification.approved",
  outcome: "approved",
  at: Date.UTC(2030, 0, 1, 12, 0, i),
  userId: `user-${i}`,
  channel: "sms",
  destination: "+1******0123",
  ip: "203.0.113.9",
});

describe("EventBridgeBus", () => {
  it("puts each audit event on the bus as source otp-service, detail-type = its type, detail = its fields", async () => {
    const failures: [number, string][] = [];
    const bus = new EventBridgeBus(client(), {
      eventBusName: "default",
      onFailed: (n, reason) => failures.push([n, reason]),
    });
    await bus.publish([event(1)]);
    expect(failures).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.target).toBe("AWSEvents.PutEvents");
    const [entry] = calls[0]?.body.Entries ?? [];
    expect(entry).toMatchObject({
      Source: "otp-service",
      DetailType: "verification.approved",
      EventBusName: "default",
    });
    expect(new Date(Number(entry?.Time) * 1000).toISOString()).toBe("2030-01-01T12:00:01.000Z");
    expect(JSON.parse(String(entry?.Detail))).toEqual({
      appId: "shop",
      type: "verification.approved",
      outcome: "approved",
      at: "2030-01-01T12:00:01.000Z",
      userId: "user-1",
      channel: "sms",
      destination: "+1******0123",
      ip: "203.0.113.9",
    });
  });

  it("sends at most 10 entries per call", async () => {
    const bus = new EventBridgeBus(client(), { eventBusName: "audit-bus", onFailed: () => {} });
    await bus.publish(Array.from({ length: 23 }, (_, i) => event(i)));
    expect(calls.map((c) => c.body.Entries.length).sort()).toEqual([10, 10, 3]);
    expect(calls.flatMap((c) => c.body.Entries.map((e) => e.EventBusName))).toEqual(
      Array(23).fill("audit-bus"),
    );
  });

  it("reports entries EventBridge refused, and a call that failed, without throwing", async () => {
    const failures: [number, string][] = [];
    const bus = new EventBridgeBus(client(), {
      eventBusName: "default",
      onFailed: (n, r) => failures.push([n, r]),
    });
    answer = () => ({
      status: 200,
      body: {
        FailedEntryCount: 1,
        Entries: [{ EventId: "e0" }, { ErrorCode: "ThrottlingException", ErrorMessage: "Rate exceeded" }],
      },
    });
    await bus.publish([event(1), event(2)]);
    expect(failures).toEqual([[1, "ThrottlingException"]]);

    answer = () => ({ status: 400, body: { __type: "AccessDeniedException", message: "not authorized" } });
    await bus.publish([event(3)]);
    expect(failures[1]).toEqual([1, "AccessDeniedException"]);

    const unreachable = new EventBridgeBus(client("http://127.0.0.1:1"), {
      eventBusName: "default",
      onFailed: (n, r) => failures.push([n, r]),
    });
    await expect(unreachable.publish([event(4), event(5)])).resolves.toBeUndefined();
    expect(failures[2]?.[0]).toBe(2);
  });
});
