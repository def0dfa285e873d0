import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { countOne } from "./floor.ts";

/**
 * The floor plus the platform every function of this service loads before any code of its
 * own: Powertools Logger and Metrics (issue 13, items 1 and 6), the EventBridge client that
 * publishes audit events (item 7) and the Secrets Manager client that reads the service
 * secret (every code, session and factor secret is keyed by it). `floor-required.ts` adds
 * the stored config's check. Clients are built on the first request, as the functions do.
 */
export function platformHandler(checkConfig: (stored: unknown) => { ok: boolean }) {
  let deps:
    | {
        documents: DynamoDBDocumentClient;
        secrets: SecretsManagerClient;
        events: EventBridgeClient;
        logger: Logger;
        metrics: Metrics;
      }
    | undefined;
  return async (): Promise<{ statusCode: number }> => {
    deps ??= {
      documents: DynamoDBDocumentClient.from(new DynamoDBClient({})),
      secrets: new SecretsManagerClient({}),
      events: new EventBridgeClient({}),
      logger: new Logger({ serviceName: "otp-service" }),
      metrics: new Metrics({ namespace: "OtpService", serviceName: "otp-service" }),
    };
    const { documents, secrets, events, logger, metrics } = deps;
    const [secret, app] = await Promise.all([
      secrets.send(new GetSecretValueCommand({ SecretId: process.env.OTP_SERVICE_SECRET_ID })),
      documents.send(
        new GetCommand({ TableName: process.env.OTP_TABLE_NAME, Key: { pk: "APP#bench", sk: "CONFIG" } }),
      ),
    ]);
    if (!checkConfig(app.Item?.config ?? {}).ok || secret.SecretString === undefined)
      return { statusCode: 503 };
    await countOne(documents);
    await events.send(
      new PutEventsCommand({ Entries: [{ Source: "otp-service", DetailType: "bench", Detail: "{}" }] }),
    );
    metrics.addMetric("Bench", MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    logger.info("request", { status: 204 });
    return { statusCode: 204 };
  };
}

/** Without the config check: what the platform alone costs. */
export const handler = platformHandler(() => ({ ok: true }));
