import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { StoreUnavailable } from "#core/errors";
import type { Breaker, CounterAdd, CounterKey, CountResult, Counts } from "#core/model/sms-protection";
import type { SmsCounters } from "#core/ports";
import { APP_PARTITION, BREAKERS_SORT } from "#core/rules/sms-protection";
import { type Item, keys, ttlAt } from "./dynamodb-items.ts";

/** Counter items: their count fields (numbers), without keys and TTL. */
function countsOf(item: Item | undefined): Counts {
  const counts: Record<string, number> = {};
  for (const [name, value] of Object.entries(item ?? {})) {
    if (name !== "pk" && name !== "sk" && name !== "ttl" && typeof value === "number") counts[name] = value;
  }
  return counts;
}

/**
 * SMS protection's counters on the service table. An add is one UpdateItem: `ADD` on each field,
 * under `attribute_not_exists(f) OR f <= :cap - :n` for each capped field, so parallel sends can
 * never pass a cap; nothing is read first. Breakers live in one item per app, a map per country.
 */
export class DynamoSmsCounters implements SmsCounters {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly settings: { tableName: string },
  ) {}

  async add(appId: string, counter: CounterAdd): Promise<CountResult> {
    const key = keys.smsCounter(appId, counter.partition, counter.sort);
    const names: Record<string, string> = { "#ttl": "ttl" };
    const values: Record<string, unknown> = { ":ttl": ttlAt(counter.expiresAt) };
    const adds: string[] = [];
    const conditions: string[] = [];
    Object.entries(counter.add).forEach(([field, n], i) => {
      names[`#f${i}`] = field;
      values[`:n${i}`] = n;
      adds.push(`#f${i} :n${i}`);
      const cap = counter.caps[field];
      if (cap !== undefined) {
        values[`:c${i}`] = cap - n;
        conditions.push(`(attribute_not_exists(#f${i}) OR #f${i} <= :c${i})`);
      }
    });
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.settings.tableName,
          Key: key,
          UpdateExpression: `SET #ttl = if_not_exists(#ttl, :ttl) ADD ${adds.join(", ")}`,
          ...(conditions.length > 0 ? { ConditionExpression: conditions.join(" AND ") } : {}),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { ok: true, counts: countsOf(result.Attributes) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw unavailable("smsCounters.add", error);
      // DynamoDB returns the item that refused; an emulator without that feature is read instead.
      const old = error.Item ? unmarshall(error.Item) : await this.item(key);
      return { ok: false, counts: countsOf(old) };
    }
  }

  async subtract(appId: string, counter: CounterAdd): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const adds = Object.entries(counter.add).map(([field, n], i) => {
      names[`#f${i}`] = field;
      values[`:n${i}`] = -n;
      return `#f${i} :n${i}`;
    });
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.settings.tableName,
          Key: keys.smsCounter(appId, counter.partition, counter.sort),
          UpdateExpression: `ADD ${adds.join(", ")}`,
          // A window that expired meanwhile is not brought back as a negative count.
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw unavailable("smsCounters.subtract", error);
    }
  }

  async counts(appId: string, key: CounterKey): Promise<Counts> {
    return countsOf(await this.item(keys.smsCounter(appId, key.partition, key.sort)));
  }

  async countsBetween(
    appId: string,
    partition: string,
    range: { from: string; to: string },
  ): Promise<Array<{ sort: string; counts: Counts }>> {
    const found: Array<{ sort: string; counts: Counts }> = [];
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const page = await this.db.send(
          new QueryCommand({
            TableName: this.settings.tableName,
            KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
            ExpressionAttributeValues: {
              ":pk": keys.smsCounter(appId, partition, "").pk,
              ":from": range.from,
              ":to": range.to,
            },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) found.push({ sort: String(item.sk), counts: countsOf(item) });
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch (error) {
      throw unavailable("smsCounters.countsBetween", error);
    }
    return found;
  }

  async breakers(appId: string): Promise<Record<string, Breaker>> {
    const item = await this.item(keys.smsCounter(appId, APP_PARTITION, BREAKERS_SORT));
    const breakers: Record<string, Breaker> = {};
    for (const [name, value] of Object.entries(item ?? {})) {
      if (/^[A-Z]{2}$/.test(name) && typeof value === "object" && value !== null) {
        breakers[name] = value as Breaker;
      }
    }
    return breakers;
  }

  async setBreaker(appId: string, country: string, next: Breaker, expectedRev: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.settings.tableName,
          Key: keys.smsCounter(appId, APP_PARTITION, BREAKERS_SORT),
          UpdateExpression: "SET #c = :next",
          ConditionExpression: expectedRev === 0 ? "attribute_not_exists(#c)" : "#c.#rev = :expected",
          ExpressionAttributeNames: { "#c": country, ...(expectedRev === 0 ? {} : { "#rev": "rev" }) },
          ExpressionAttributeValues: {
            ":next": next,
            ...(expectedRev === 0 ? {} : { ":expected": expectedRev }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw unavailable("smsCounters.setBreaker", error);
    }
  }

  private async item(key: { pk: string; sk: string }): Promise<Item | undefined> {
    try {
      const result = await this.db.send(
        new GetCommand({ TableName: this.settings.tableName, Key: key, ConsistentRead: true }),
      );
      return result.Item;
    } catch (error) {
      throw unavailable("smsCounters.read", error);
    }
  }
}

const unavailable = (operation: string, cause: unknown): StoreUnavailable =>
  cause instanceof StoreUnavailable ? cause : new StoreUnavailable(operation, { cause });
