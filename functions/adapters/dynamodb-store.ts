import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { AppConfig } from "#core/config";
import { StoreUnavailable } from "#core/errors";
import type { StateWrite } from "#core/model/state-write";
import type {
  ApiKeyRecord,
  AppRecord,
  EpochMs,
  FactorRecord,
  Store,
  StoredConfig,
  UserRecords,
  UserState,
  WriteResult,
} from "#core/ports";
import { renderWrite } from "./dynamodb-expressions.ts";
import {
  fromFactor,
  type Item,
  keys,
  toApiKey,
  toApp,
  toFactor,
  toUserState,
  ttlAt,
} from "./dynamodb-items.ts";

export interface DynamoStoreSettings {
  tableName: string;
  /** How long app records and configs may be served from memory (0: always read). */
  appCacheMs?: number;
  /** How long an API key lookup may be served from memory; a revoked key is refused after at most this. */
  apiKeyCacheMs?: number;
}

/** The Store port on one DynamoDB table: reads (consistent where they decide), conditional writes, queries. No policy. */
export class DynamoStore implements Store {
  private readonly table: string;
  private readonly cache = new Map<string, { until: number; value: unknown }>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly settings: DynamoStoreSettings,
  ) {
    this.table = settings.tableName;
  }

  // ---- apps, config, keys -------------------------------------------------------------

  async createApp(app: AppRecord, config: AppConfig, key: ApiKeyRecord): Promise<void> {
    await this.call("createApp", async () => {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.app(app.appId), name: app.name, createdAt: app.createdAt },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.config(app.appId), configJson: JSON.stringify(config), version: config.version },
        }),
      );
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.appIndex(app.appId), name: app.name, createdAt: app.createdAt },
        }),
      );
      await this.putApiKey(key);
    });
  }

  async putApiKey(key: ApiKeyRecord): Promise<void> {
    await this.call("putApiKey", async () => {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.apiKey(key.keyHash), appId: key.appId, keyId: key.keyId, createdAt: key.createdAt },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.appKey(key.appId, key.keyId), keyHash: key.keyHash, createdAt: key.createdAt },
        }),
      );
    });
  }

  async revokeApiKey(appId: string, keyId: string, now: EpochMs): Promise<boolean> {
    return this.call("revokeApiKey", async () => {
      const ref = await this.get(keys.appKey(appId, keyId));
      if (!ref) return false;
      const keyHash = String(ref.keyHash);
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.apiKey(keyHash),
          UpdateExpression: "SET revokedAt = if_not_exists(revokedAt, :now)",
          ConditionExpression: "appId = :appId",
          ExpressionAttributeValues: { ":now": now, ":appId": appId },
        }),
      );
      this.cache.delete(`key:${keyHash}`);
      return true;
    });
  }

  async listApps(): Promise<AppRecord[]> {
    return this.call("listApps", async () => {
      const items = await this.queryAll({
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": "APPS" },
      });
      return items.map((item) => toApp(String(item.sk), item));
    });
  }

  async revokeAppSessions(appId: string, now: EpochMs): Promise<void> {
    this.cache.delete(`app:${appId}`);
    await this.call("revokeAppSessions", () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.app(appId),
          UpdateExpression: "SET sessionsNotBefore = :now",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":now": now },
        }),
      ),
    );
  }

  getApp(appId: string, options: { fresh?: boolean } = {}): Promise<AppRecord | undefined> {
    return this.cached(`app:${appId}`, options.fresh ? 0 : (this.settings.appCacheMs ?? 0), async () => {
      const item = await this.get(keys.app(appId));
      return item ? toApp(appId, item) : undefined;
    });
  }

  getConfig(appId: string): Promise<StoredConfig | undefined> {
    return this.cached(`config:${appId}`, this.settings.appCacheMs ?? 0, async () => {
      const item = await this.get(keys.config(appId));
      if (!item) return undefined;
      let raw: unknown;
      try {
        raw = JSON.parse(String(item.configJson));
      } catch {
        raw = undefined;
      }
      return { raw, version: Number(item.version) };
    });
  }

  async putConfig(appId: string, config: AppConfig, expectedVersion: number): Promise<"ok" | "conflict"> {
    this.cache.delete(`config:${appId}`);
    return this.call("putConfig", async () => {
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...keys.config(appId), configJson: JSON.stringify(config), version: expectedVersion + 1 },
            ConditionExpression: "version = :expected",
            ExpressionAttributeValues: { ":expected": expectedVersion },
          }),
        );
        return "ok";
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return "conflict";
        throw error;
      }
    });
  }

  getApiKey(keyHash: string): Promise<ApiKeyRecord | undefined> {
    return this.cached(`key:${keyHash}`, this.settings.apiKeyCacheMs ?? 0, async () => {
      const item = await this.get(keys.apiKey(keyHash));
      return item ? toApiKey(keyHash, item) : undefined;
    });
  }

  // ---- users ---------------------------------------------------------------------------

  /** The user item and the factor items in one consistent Query. */
  async loadUser(appId: string, userId: string): Promise<UserRecords> {
    return this.call("loadUser", async () => {
      const items = await this.queryAll({
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :factors AND :state",
        ExpressionAttributeValues: {
          ":pk": keys.userPk(appId, userId),
          ":factors": "FACTOR#",
          ":state": "STATE",
        },
        ConsistentRead: true,
      });
      const state = items.find((i) => i.sk === "STATE");
      return {
        state: state ? toUserState(state) : undefined,
        factors: items
          .filter((i) => String(i.sk).startsWith("FACTOR#"))
          .map((i) => toFactor(appId, userId, i)),
      };
    });
  }

  async getUserState(appId: string, userId: string): Promise<UserState | undefined> {
    const item = await this.get(keys.state(appId, userId));
    return item ? toUserState(item) : undefined;
  }

  async getFactor(appId: string, userId: string, factorId: string): Promise<FactorRecord | undefined> {
    const item = await this.get(keys.factor(appId, userId, factorId));
    return item ? toFactor(appId, userId, item) : undefined;
  }

  /**
   * One conditional UpdateItem on the user item. A refused condition brings the item back
   * with it (`ReturnValuesOnConditionCheckFailure`); only where the emulator leaves it out
   * (dynalite) or the item does not exist is it read instead.
   */
  async writeUserState(appId: string, userId: string, write: StateWrite): Promise<WriteResult> {
    const key = keys.state(appId, userId);
    return this.call("writeUserState", async () => {
      try {
        const result = await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: key,
            ...renderWrite(write),
            ReturnValues: "ALL_NEW",
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        );
        return { ok: true, state: toUserState(result.Attributes ?? {}) };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const old = error.Item ? unmarshall(error.Item) : await this.get(key);
        return { ok: false, state: old ? toUserState(old) : undefined };
      }
    });
  }

  async putFactor(factor: FactorRecord, expiresAt?: EpochMs): Promise<void> {
    await this.call("putFactor", () =>
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...fromFactor(factor), ...(expiresAt === undefined ? {} : { ttl: ttlAt(expiresAt) }) },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    );
  }

  /** An activated factor is kept: its item no longer expires. */
  async keepFactor(appId: string, userId: string, factorId: string): Promise<void> {
    await this.call("keepFactor", async () => {
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.factor(appId, userId, factorId),
            UpdateExpression: "REMOVE #ttl",
            ConditionExpression: "attribute_exists(pk)",
            ExpressionAttributeNames: { "#ttl": "ttl" },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    });
  }

  async deleteFactors(appId: string, userId: string, factorIds: readonly string[]): Promise<void> {
    await this.call("deleteFactors", () =>
      Promise.all(
        factorIds.map((factorId) =>
          this.db.send(
            new DeleteCommand({ TableName: this.table, Key: keys.factor(appId, userId, factorId) }),
          ),
        ),
      ),
    );
  }

  // ---- plumbing -----------------------------------------------------------------------------

  private async queryAll(input: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey">): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.db.send(
        new QueryCommand({ ...input, TableName: this.table, ExclusiveStartKey: startKey }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  private async get(key: { pk: string; sk: string }): Promise<Item | undefined> {
    return this.call("get", async () => {
      const result = await this.db.send(
        new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }),
      );
      return result.Item;
    });
  }

  private async cached<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    if (ttlMs > 0) {
      const hit = this.cache.get(key);
      if (hit && hit.until > Date.now()) return hit.value as T;
    }
    const value = await load();
    if (ttlMs > 0 && value !== undefined) this.cache.set(key, { until: Date.now() + ttlMs, value });
    return value;
  }

  /** Anything but a decided condition failure is a store fault: the caller answers 503, never approves. */
  private async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof StoreUnavailable) throw error;
      if (error instanceof ConditionalCheckFailedException) throw error;
      throw new StoreUnavailable(operation, { cause: error });
    }
  }
}
