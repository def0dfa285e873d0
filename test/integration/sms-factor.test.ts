import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keys } from "#adapters/dynamodb-items";
import { LOCAL_AWS } from "#lib/local-services";
import { TABLE_NAME } from "#lib/local-stack";
import { type Harness, putConfig, startHarness } from "../support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe("sms factors on the local stack (outbox provider)", () => {
  it("enrolls an E.164 number, masks it, activates it and sends login codes by sms first", async () => {
    const enrolled = await h.call("POST", "/v1/users/sam/factors", {
      body: { type: "sms", phone: "+1 (415) 555-0123" },
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body).toMatchObject({ type: "sms", status: "pending", destination: "+1******0123" });
    const [sms] = await h.stack.outboxMessages("+14155550123");
    expect(sms).toMatchObject({ channel: "sms", to: "+14155550123" });
    expect(sms?.body).toMatch(/^Your Default app code is \d{6}\. It expires in 5 min\.$/);
    const activated = await h.call("POST", `/v1/users/sam/factors/${enrolled.body.factorId}/activate`, {
      body: { code: await h.latestCode("+14155550123") },
    });
    expect(activated.status).toBe(200);
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "sam" } });
    expect(sent.body).toMatchObject({ channel: "sms", destination: "+1******0123", fallbackUsed: false });
  });

  it("reads national numbers with the app's default country code", async () => {
    await putConfig(h, "default", (config) => {
      (config.sms as Record<string, unknown>).defaultCountryCode = "+44";
    });
    const enrolled = await h.call("POST", "/v1/users/uk/factors", {
      body: { type: "sms", phone: "07400 123456" },
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body.destination).toBe("+44******3456");
    expect(await h.stack.outboxMessages("+447400123456")).toHaveLength(1);
  });

  it("refuses invalid numbers and countries outside the allow-list", async () => {
    const invalid = await h.call("POST", "/v1/users/bad/factors", { body: { type: "sms", phone: "+1 555" } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe("invalid_phone");
    await putConfig(h, "default", (config) => {
      (config.sms as Record<string, unknown>).allowedCountries = ["US", "CA"];
    });
    const french = await h.call("POST", "/v1/users/fr/factors", {
      body: { type: "sms", phone: "+33 6 12 34 56 78" },
    });
    expect(french.status).toBe(400);
    expect(french.body.code).toBe("country_not_allowed");
    expect(await h.stack.outboxMessages("+33612345678")).toHaveLength(0);
  });

  it("keeps the number's country from enrollment, so a send counts it without numbering plans; an older factor is looked up", async () => {
    await putConfig(h, "default", (config) => {
      (config.sms as Record<string, unknown>).allowedCountries = ["*"];
    });
    // +44 7911 12xxxx is Guernsey's: only the numbering plan, not the dialing code, tells it from GB.
    const enrolled = await h.call("POST", "/v1/users/gg/factors", {
      body: { type: "sms", phone: "+447911123456" },
    });
    expect(enrolled.status).toBe(201);
    const countries = async () => {
      const view = await h.call("GET", "/v1/admin/apps/default/sms-protection", { auth: "admin" });
      return view.body.countries as Array<{ country: string; sentInWindow: number }>;
    };
    expect((await countries()).find((c) => c.country === "GG")?.sentInWindow).toBe(1);
    const activated = await h.call("POST", `/v1/users/gg/factors/${enrolled.body.factorId}/activate`, {
      body: { code: await h.latestCode("+447911123456") },
    });
    expect(activated.status).toBe(200);

    // A factor enrolled before the country was kept: the send looks it up.
    const documents = DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...LOCAL_AWS, endpoint: h.stack.dynamoEndpoint }),
    );
    await documents.send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: keys.factor("default", "gg", String(enrolled.body.factorId)),
        UpdateExpression: "REMOVE country",
        ConditionExpression: "country = :gg",
        ExpressionAttributeValues: { ":gg": "GG" },
      }),
    );
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "gg" } });
    expect(sent.status).toBe(201);
    expect((await countries()).find((c) => c.country === "GG")?.sentInWindow).toBe(2);
  });
});
