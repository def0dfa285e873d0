import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import type { AuditEventBus, Deps } from "#core/ports";
import type { ConfigRulesDeps } from "#core/use-cases/app-config";
import type { Log } from "./log.ts";

export type AdminAuth = { kind: "iam" } | { kind: "token"; tokenSha256: string };

/**
 * What a handler needs beyond the use cases' ports: how admins prove who they are, where
 * request logs go, and (only the local stack sets it) looser config rules for its fakes.
 */
export interface HandlerDeps extends Deps, ConfigRulesDeps {
  adminAuth: AdminAuth;
  /** Where each request's audit events are published once it is decided (EventBridge; locally `/dev/events`). */
  events?: AuditEventBus;
  /** One structured line per request (route, status, code, timing) and per fault worth a look. Never a body, header or secret. */
  log?: Log;
  /** Called as each invocation starts: the cloud stamps its Lambda context and request id on the log lines. */
  beginRequest?: (event: APIGatewayProxyEventV2, context: Context) => void;
}

/** Builds dependencies once per process (a Lambda cold start), on first use. */
export function once<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
}
