import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { StoreUnavailable } from "#core/errors";
import type { IdempotencyRecords } from "#core/ports";
import type { IdempotencyRecord } from "#core/rules/idempotency";
import { type Item, keys, ttlAt } from "./dynamodb-items.ts";

const toRecord = <R>(item: Item): IdempotencyRecord<R> => ({
  bodyHash: String(item.bodyHash),
  token: String(item.token),
  state: item.state === "done" ? "done" : "in_progress",
  response: item.response as R | undefined,
  expiresAt: Number(item.expiresAt),
  inProgressUntil: Number(item.inProgressUntil),
});

/**
 * Idempotency records on the service table (`IDEM#<app>#<key hash>`), one item per key. A
 * claim is one PutItem under "no live record" and returns the record that refused it (one
 * round trip either way); TTL removes the items after their 10 minutes.
 */
export class DynamoIdempotency implements IdempotencyRecords {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly settings: { tableName: string },
  ) {}

  async claim<R>(
    appId: string,
    keyHash: string,
    record: IdempotencyRecord<R>,
    now: number,
  ): Promise<{ claimed: true } | { claimed: false; existing: IdempotencyRecord<R> }> {
    const key = keys.idempotency(appId, keyHash);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.settings.tableName,
          Item: { ...key, ...record, ttl: ttlAt(record.expiresAt) },
          ConditionExpression:
            "attribute_not_exists(pk) OR expiresAt <= :now OR (#state = :progress AND inProgressUntil <= :now)",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":now": now, ":progress": "in_progress" },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw unavailable("idempotency.claim", error);
      // DynamoDB returns the item that refused; an emulator without that feature is read instead.
      const old = error.Item ? unmarshall(error.Item) : await this.item(key);
      if (!old) return this.claim(appId, keyHash, record, now);
      return { claimed: false, existing: toRecord<R>(old) };
    }
  }

  async complete<R>(appId: string, keyHash: string, token: string, response: R): Promise<void> {
    await this.ifHeld("idempotency.complete", () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.settings.tableName,
          Key: keys.idempotency(appId, keyHash),
          UpdateExpression: "SET #state = :done, #response = :response",
          ConditionExpression: "#token = :token",
          ExpressionAttributeNames: { "#state": "state", "#response": "response", "#token": "token" },
          ExpressionAttributeValues: { ":done": "done", ":response": response, ":token": token },
        }),
      ),
    );
  }

  async release(appId: string, keyHash: string, token: string): Promise<void> {
    await this.ifHeld("idempotency.release", () =>
      this.db.send(
        new DeleteCommand({
          TableName: this.settings.tableName,
          Key: keys.idempotency(appId, keyHash),
          ConditionExpression: "#token = :token",
          ExpressionAttributeNames: { "#token": "token" },
          ExpressionAttributeValues: { ":token": token },
        }),
      ),
    );
  }

  /** A claim taken over after it was abandoned is no longer this request's to change. */
  private async ifHeld(operation: string, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw unavailable(operation, error);
    }
  }

  private async item(key: Record<string, string>): Promise<Item | undefined> {
    try {
      const result = await this.db.send(
        new GetCommand({ TableName: this.settings.tableName, Key: key, ConsistentRead: true }),
      );
      return result.Item;
    } catch (error) {
      throw unavailable("idempotency.read", error);
    }
  }
}

const unavailable = (operation: string, error: unknown): StoreUnavailable =>
  error instanceof StoreUnavailable ? error : new StoreUnavailable(operation, { cause: error });
