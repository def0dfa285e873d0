import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoAudit } from "#adapters/dynamodb-audit";
import { DynamoStore } from "#adapters/dynamodb-store";
import { MetricsAudit } from "#adapters/metrics-audit";
import { SecretsManagerSecrets } from "#adapters/secrets-manager";
import { SesEmail } from "#adapters/ses-email";
import { SinchVerification } from "#adapters/sinch-verification";
import { TwilioSms } from "#adapters/twilio-sms";
import { UnconfiguredSms } from "#adapters/unconfigured-sms";
import type { HandlerDeps } from "./deps.ts";

const errorName = (error: unknown): string => (error instanceof Error ? error.name : "Error");

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

/** The Lambda's dependencies, from the environment the stack sets: names of things, never secret values. */
export async function cloudDeps(): Promise<HandlerDeps> {
  const requestHandler = { connectionTimeout: 1_000, requestTimeout: 3_000 };
  const dynamo = new DynamoDBClient({ maxAttempts: 3, requestHandler });
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const tableName = required("OTP_TABLE_NAME");
  const store = new DynamoStore(documents, { tableName, appCacheMs: 10_000, apiKeyCacheMs: 60_000 });
  const metrics = new Metrics({ namespace: "OtpService", serviceName: "otp-service" });
  const audit = new MetricsAudit(
    new DynamoAudit(documents, {
      tableName,
      onLost: (event, error) => {
        // The event holds no secret (masked destination, ids, outcome): the log keeps it.
        console.error(
          JSON.stringify({ level: "error", msg: "audit event not stored", error: errorName(error), event }),
        );
        metrics.addMetric("AuditWriteFailed", MetricUnit.Count, 1);
        metrics.publishStoredMetrics();
      },
    }),
    metrics,
  );
  const secrets = new SecretsManagerSecrets(new SecretsManagerClient({ maxAttempts: 3, requestHandler }), {
    serviceSecretId: required("OTP_SERVICE_SECRET_ID"),
    providerSecretIds: {
      twilio: process.env.OTP_TWILIO_SECRET_ID ?? "",
      "sinch-verification-api": process.env.OTP_SINCH_SECRET_ID ?? "",
    },
    namePrefix: process.env.OTP_SECRET_PREFIX ?? "otp-service/",
  });
  const email = new SesEmail(new SESv2Client({ maxAttempts: 2, requestHandler }));
  const twilio = new TwilioSms({ secrets, apiBaseUrl: process.env.OTP_TWILIO_API_URL });
  const sinch = new SinchVerification({ secrets });
  const unconfigured = new UnconfiguredSms();
  return {
    store,
    secrets,
    clock: { now: () => Date.now() },
    email: () => email,
    sms: (config) => (config.sms.provider === "twilio" ? twilio : unconfigured),
    smsVerification: () => sinch,
    audit,
    adminAuth: { kind: "iam" },
    log: (entry) => console.log(JSON.stringify(entry)),
  };
}
