import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoAudit } from "#adapters/dynamodb-audit";
import { DynamoIdempotency } from "#adapters/dynamodb-idempotency";
import { DynamoSmsCounters } from "#adapters/dynamodb-sms-counters";
import { DynamoStore } from "#adapters/dynamodb-store";
import { EventBridgeBus } from "#adapters/eventbridge-bus";
import { MetricsAudit } from "#adapters/metrics-audit";
import { chooseProviders, type OfferedProviders, offeredNames } from "#adapters/providers/registry";
import { SecretsManagerSecrets } from "#adapters/secrets-manager";
import type { DeliverySetup, Secrets } from "#core/ports";
import { cloudLogger, contextFor, logTo } from "./cloud-logger.ts";
import type { HandlerDeps } from "./deps.ts";
import { loadTracing, type TraceClient, untraced } from "./tracing.ts";

/**
 * DynamoDB and Secrets Manager answer in milliseconds: a call gives up after 1 s to connect or
 * 3 s without a byte, and is tried at most 3 times (DynamoDB) before the use case answers 503.
 */
export const cloudRequestHandler = { connectionTimeout: 1_000, requestTimeout: 3_000 };

/** The AWS SDK clients of a function, traced when tracing is on (functions/http/tracing.ts). */
export function cloudClients(trace: TraceClient = untraced) {
  const requestHandler = cloudRequestHandler;
  const dynamo = trace(new DynamoDBClient({ maxAttempts: 3, requestHandler }));
  return {
    dynamo,
    documents: DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
    secretsManager: trace(new SecretsManagerClient({ maxAttempts: 3, requestHandler })),
    // One quick retry: an event is worth little against the caller's answer waiting on it.
    eventBridge: trace(
      new EventBridgeClient({
        maxAttempts: 2,
        requestHandler: { connectionTimeout: 500, requestTimeout: 1_000 },
      }),
    ),
  };
}

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
  providers: (secrets: Secrets, trace: TraceClient) => OfferedProviders,
  options: {
    /** Admins must read what is stored (ETags, revocations); client functions may cache apps and configs 10 s. */
    appCacheMs: number;
    /** The doctor route's facts (admin function only, so SES's account calls stay out of the others). */
    deliverySetup?: (offered: DeliverySetup["offered"]) => DeliverySetup;
  } = { appCacheMs: 10_000 },
): Promise<HandlerDeps> {
  const trace = await loadTracing();
  const clients = cloudClients(trace);
  const { documents } = clients;
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
  // Deps are built once per process, on its first invocation: this is the cold start. By the
  // function's physical name (the dashboard's `function_name`), beside `service` and `instance`.
  metrics.captureColdStartMetric(process.env.AWS_LAMBDA_FUNCTION_NAME);
  const logger = cloudLogger();
  const log = logTo(logger);
  const audit = new MetricsAudit(
    new DynamoAudit(documents, {
      tableName,
      onLost: (event, error) => {
        // The event holds no secret (masked destination, ids, outcome): the log keeps it.
        log({ level: "error", msg: "audit event not stored", error, event });
        metrics.addMetric("AuditWriteFailed", MetricUnit.Count, 1);
        metrics.publishStoredMetrics();
      },
    }),
    metrics,
  );
  const secrets = new SecretsManagerSecrets(clients.secretsManager, {
    serviceSecretId: required("OTP_SERVICE_SECRET_ID"),
    providerSecretIds: {
      twilio: process.env.OTP_TWILIO_SECRET_ID ?? "",
      "sinch-verification-api": process.env.OTP_SINCH_SECRET_ID ?? "",
    },
    namePrefix: process.env.OTP_SECRET_PREFIX ?? "otp-service/",
  });
  const events = new EventBridgeBus(clients.eventBridge, {
    eventBusName: process.env.OTP_EVENT_BUS_NAME ?? "default",
    onFailed: (count, reason) => {
      log({ level: "warn", msg: "audit events not put on the bus", count, reason });
      metrics.addMetric("EventPublishFailed", MetricUnit.Count, count);
      metrics.publishStoredMetrics();
    },
  });
  const offered = providers(secrets, trace);
  return {
    store,
    events,
    secrets,
    clock: { now: () => Date.now() },
    ...chooseProviders(offered),
    ...(options.deliverySetup ? { deliverySetup: options.deliverySetup(offeredNames(offered)) } : {}),
    audit,
    smsCounters: new DynamoSmsCounters(documents, { tableName }),
    idempotency: new DynamoIdempotency(documents, { tableName }),
    adminAuth: { kind: "iam" },
    log,
    beginRequest: contextFor(logger),
  };
}
