import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoAudit } from "#adapters/dynamodb-audit";
import { DynamoSmsCounters } from "#adapters/dynamodb-sms-counters";
import { DynamoStore } from "#adapters/dynamodb-store";
import { MetricsAudit } from "#adapters/metrics-audit";
import { chooseProviders, type OfferedProviders } from "#adapters/providers/registry";
import { SecretsManagerSecrets } from "#adapters/secrets-manager";
import type { Secrets } from "#core/ports";
import type { HandlerDeps } from "./deps.ts";

export const cloudRequestHandler = { connectionTimeout: 1_000, requestTimeout: 3_000 };

const errorName = (error: unknown): string => (error instanceof Error ? error.name : "Error");

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

/**
 * The Lambda's dependencies, from the environment the stack sets: names of things, never
 * secret values. Each entry point offers only the providers it uses (its bundle holds no
 * others); one an app's config names but the function does not offer refuses, so a fallback applies.
 */
export async function cloudDeps(
  providers: (secrets: Secrets) => OfferedProviders,
  /** Admins must read what is stored (ETags, revocations); client functions may cache apps and configs 10 s. */
  options: { appCacheMs: number } = { appCacheMs: 10_000 },
): Promise<HandlerDeps> {
  const requestHandler = cloudRequestHandler;
  const dynamo = new DynamoDBClient({ maxAttempts: 3, requestHandler });
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const tableName = required("OTP_TABLE_NAME");
  const store = new DynamoStore(documents, {
    tableName,
    appCacheMs: options.appCacheMs,
    apiKeyCacheMs: 60_000,
  });
  // `instance` keeps the alarms of two deployments in one account apart.
  const instance = process.env.OTP_METRICS_INSTANCE;
  const metrics = new Metrics({
    namespace: "OtpService",
    serviceName: "otp-service",
    ...(instance ? { defaultDimensions: { instance } } : {}),
  });
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
  return {
    store,
    secrets,
    clock: { now: () => Date.now() },
    ...chooseProviders(providers(secrets)),
    audit,
    smsCounters: new DynamoSmsCounters(documents, { tableName }),
    adminAuth: { kind: "iam" },
    log: (entry) => console.log(JSON.stringify(entry)),
  };
}
