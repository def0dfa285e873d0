import { randomBytes } from "node:crypto";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import { invalidRequest, StoreUnavailable } from "#core/errors";
import type { Audit, AuditEvent, AuditPage } from "#core/ports";
import { keys, ttlAt } from "./dynamodb-items.ts";

const RETENTION_DAYS = 400;
const MAX_PAGES_PER_CALL = 10;

export interface DynamoAuditSettings {
  tableName: string;
  /**
   * Called with an event that could not be stored. Recording never fails the request: the
   * change it describes is already made (a session issued, recovery codes stored), and
   * answering 503 then would lose what the caller must see. The loss is reported instead.
   */
  onLost: (event: AuditEvent, error: unknown) => void;
}

/** The audit trail: one item per event under `AUDIT#<appId>`, sorted by time, deleted by TTL after 400 days. */
export class DynamoAudit implements Audit {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly settings: DynamoAuditSettings,
  ) {}

  async record(event: AuditEvent): Promise<void> {
    const { id = randomBytes(6).toString("base64url"), ...fields } = event;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.settings.tableName,
          Item: {
            ...keys.audit(event.appId, event.at, id),
            ...fields,
            ttl: ttlAt(event.at) + RETENTION_DAYS * 86_400,
          },
        }),
      );
    } catch (error) {
      this.settings.onLost(event, error);
    }
  }

  async retract(event: AuditEvent & { id: string }): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.settings.tableName,
          Key: keys.audit(event.appId, event.at, event.id),
        }),
      );
    } catch (error) {
      this.settings.onLost({ ...event, outcome: `retract:${event.outcome}` }, error);
    }
  }

  /** Newest first; with `userId`, reads on until the page is full (bounded), since the filter applies after reading. */
  async list(appId: string, query: { userId?: string; limit: number; cursor?: string }): Promise<AuditPage> {
    const events: AuditEvent[] = [];
    let startKey =
      query.cursor === undefined ? undefined : { pk: `AUDIT#${appId}`, sk: decodeCursor(query.cursor) };
    try {
      for (let page = 0; page < MAX_PAGES_PER_CALL && events.length < query.limit; page++) {
        const result: QueryCommandOutput = await this.db.send(
          new QueryCommand({
            TableName: this.settings.tableName,
            KeyConditionExpression: "pk = :pk",
            ExpressionAttributeValues: {
              ":pk": `AUDIT#${appId}`,
              ...(query.userId === undefined ? {} : { ":userId": query.userId }),
            },
            FilterExpression: query.userId === undefined ? undefined : "userId = :userId",
            ScanIndexForward: false,
            Limit: query.limit - events.length,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of result.Items ?? []) events.push(toEvent(item));
        startKey = result.LastEvaluatedKey as typeof startKey;
        if (!startKey) break;
      }
    } catch (error) {
      throw new StoreUnavailable("audit.list", { cause: error });
    }
    return { events, nextCursor: startKey ? encodeCursor(String(startKey.sk)) : null };
  }
}

const encodeCursor = (sk: string): string => Buffer.from(JSON.stringify({ sk })).toString("base64url");

function decodeCursor(cursor: string): string {
  try {
    const { sk } = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { sk?: unknown };
    if (typeof sk === "string" && /^\d{4}-\d\d-\d\dT[\d:.]+Z#[\w-]+$/.test(sk)) return sk;
  } catch {
    // fall through
  }
  throw invalidRequest([{ path: "cursor", message: "not a cursor this service issued" }]);
}

function toEvent(item: Record<string, unknown>): AuditEvent {
  const optional = (name: string) => (typeof item[name] === "string" ? { [name]: item[name] as string } : {});
  return {
    appId: String(item.appId),
    type: item.type as AuditEvent["type"],
    outcome: String(item.outcome),
    at: Number(item.at),
    ...optional("userId"),
    ...optional("channel"),
    ...optional("destination"),
    ...optional("ip"),
    ...optional("target"),
    ...optional("actor"),
  };
}
