import { Logger } from "@aws-lambda-powertools/logger";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import type { Log } from "./log.ts";

/**
 * Powertools Logger: one JSON object per line on stdout (which Lambda's JSON log format passes
 * through as is), with `level`, `timestamp`, `service`, the Lambda context (`function_name`,
 * `function_request_id`, `cold_start`) and, as `correlation_id`, API Gateway's request id.
 * The level comes from `POWERTOOLS_LOG_LEVEL` (default INFO).
 */
export function cloudLogger(): Logger {
  return new Logger({ serviceName: "otp-service" });
}

export function logTo(logger: Logger): Log {
  // Powertools formats an Error value as { name, location, message, stack }.
  return ({ level, msg, ...fields }) => logger[level](msg, fields);
}

/** Stamps the invocation's context on every line logged while it runs. */
export function contextFor(logger: Logger) {
  return (event: APIGatewayProxyEventV2, context: Context): void => {
    logger.addContext(context);
    logger.setCorrelationId(event.requestContext?.requestId);
  };
}
