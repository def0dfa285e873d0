import { SESv2Client } from "@aws-sdk/client-sesv2";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cloudClients } from "#http/cloud-deps";
import { allProviders } from "#http/cloud-providers";
import { loadTracing, type TraceClient, untraced } from "#http/tracing";
import { MemorySecrets, testServiceSecret } from "../support/deps.ts";

/** The X-Ray SDK's middleware on an AWS SDK v3 client: what makes each call a subsegment. */
const xrayMiddleware = (client: { middlewareStack: { identify(): string[] } }) =>
  client.middlewareStack.identify().filter((name) => name.startsWith("XRaySDKInstrumentation"));

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("opt-in tracing", () => {
  it("off (no OTP_TRACING): clients are built as they are, untraced", async () => {
    vi.stubEnv("AWS_EXECUTION_ENV", "AWS_Lambda_nodejs22.x");
    const trace = await loadTracing({ AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x" });
    expect(trace).toBe(untraced);
    const clients = cloudClients(trace);
    for (const client of [clients.dynamo, clients.secretsManager, clients.eventBridge]) {
      expect(xrayMiddleware(client)).toEqual([]);
    }
  });

  it("on (OTP_TRACING=1 in a Lambda): DynamoDB, Secrets Manager and EventBridge calls are traced", async () => {
    vi.stubEnv("AWS_EXECUTION_ENV", "AWS_Lambda_nodejs22.x");
    const trace = await loadTracing({ OTP_TRACING: "1" });
    expect(trace).not.toBe(untraced);
    const clients = cloudClients(trace);
    for (const client of [clients.dynamo, clients.secretsManager, clients.eventBridge]) {
      expect(xrayMiddleware(client)).toHaveLength(1);
    }
    // The document client shares the traced DynamoDB client's middleware.
    expect(xrayMiddleware(clients.documents)).toHaveLength(1);
  });

  it("passes the SES client through the same tracing, built by the first email and not before", async () => {
    const traced: unknown[] = [];
    const trace: TraceClient = (client) => {
      traced.push(client);
      // Stops the send here: the client exists and was traced, nothing goes on the network.
      throw new Error("traced");
    };
    const providers = allProviders(new MemorySecrets(testServiceSecret()), trace);
    expect(traced).toHaveLength(0);
    const ses = providers.email?.ses;
    if (!ses || !("sendEmail" in ses)) throw new Error("no SES provider offered");
    const message = {
      to: "a@example.com",
      fromAddress: "b@example.com",
      fromName: "B",
      subject: "s",
      text: "t",
      html: "h",
      configurationSet: null,
    };
    await expect(ses.sendEmail(message)).rejects.toThrow("traced");
    expect(traced).toHaveLength(1);
    expect(traced[0]).toBeInstanceOf(SESv2Client);
    // A failed load is not kept: the next email builds the client again.
    await expect(ses.sendEmail(message)).rejects.toThrow("traced");
    expect(traced).toHaveLength(2);
  });
});
