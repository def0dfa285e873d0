import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { AppConfig } from "#core/config";
import { StoreUnavailable } from "#core/errors";
import { PENDING_FACTOR_TTL_SECONDS } from "#core/policy";
import type {
  ActivationOutcome,
  ApiKeyRecord,
  AppRecord,
  ApprovalOutcome,
  AttemptReservation,
  Challenge,
  ChallengePurpose,
  EpochMs,
  Factor,
  FailureOutcome,
  SendReservation,
  Session,
  Store,
  StoredConfig,
  UserRecords,
  UserState,
} from "#core/ports";
import {
  activeAttr,
  currentAttr,
  fromChallenge,
  fromFactor,
  type Item,
  keys,
  lastUsedAttr,
  toApiKey,
  toApp,
  toChallenge,
  toFactor,
  toSession,
  toUserState,
  ttlAt,
} from "./dynamodb-items.ts";

export interface DynamoStoreSettings {
  tableName: string;
  /** How long app records and configs may be served from memory (0: always read). */
  appCacheMs?: number;
  /** How long an API key lookup may be served from memory; a revoked key is refused after at most this. */
  apiKeyCacheMs?: number;
  /** Bound on optimistic retries of a compare-and-set under contention. */
  maxCasAttempts?: number;
}

const NOT_LOCKED = "(attribute_not_exists(lockedUntil) OR lockedUntil <= :now)";
/** Longer than any request can run (Lambda timeouts are at most 15 s): older reserved attempts are abandoned. */
const IN_FLIGHT_MS = 30_000;

class CasConflict extends Error {}

/** The Store port on one DynamoDB table. Every decision rests on a consistent read or a conditional write. */
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

  // ---- user reads ------------------------------------------------------------------------

  /** State and factors in one consistent Query; challenges (many, short-lived) and session references are skipped. */
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
      return {
        state: toUserState(
          appId,
          userId,
          items.find((i) => i.sk === "STATE"),
        ),
        factors: items
          .filter((i) => String(i.sk).startsWith("FACTOR#"))
          .map((i) => toFactor(appId, userId, i)),
      };
    });
  }

  private async liveChallenges(appId: string, userId: string): Promise<Challenge[]> {
    const items = await this.queryAll({
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": keys.userPk(appId, userId), ":prefix": "CHALLENGE#" },
      ConsistentRead: true,
    });
    return items
      .map((i) => toChallenge(appId, userId, i))
      .filter((c) => c.usedAt === undefined && c.supersededAt === undefined);
  }

  async countActiveSessions(
    appId: string,
    userId: string,
    now: EpochMs,
    notBefore: EpochMs,
  ): Promise<number> {
    return this.call("countActiveSessions", async () => {
      const items = await this.queryAll({
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: { ":pk": keys.userPk(appId, userId), ":prefix": "ZSESSION#" },
        ConsistentRead: true,
      });
      return items.filter((i) => Number(i.expiresAt) > now && Number(i.issuedAt) > notBefore).length;
    });
  }

  async unlockUser(appId: string, userId: string): Promise<void> {
    await this.call("unlockUser", () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.state(appId, userId),
          UpdateExpression: "SET failedAttempts = :zero REMOVE lockedUntil",
          ExpressionAttributeValues: { ":zero": 0 },
        }),
      ),
    );
  }

  async getUserState(appId: string, userId: string): Promise<UserState | undefined> {
    return toUserState(appId, userId, await this.get(keys.state(appId, userId)));
  }

  async getFactor(appId: string, userId: string, factorId: string): Promise<Factor | undefined> {
    const item = await this.get(keys.factor(appId, userId, factorId));
    return item ? toFactor(appId, userId, item) : undefined;
  }

  async getChallenge(appId: string, userId: string, challengeId: string): Promise<Challenge | undefined> {
    const item = await this.get(keys.challenge(appId, userId, challengeId));
    return item ? toChallenge(appId, userId, item) : undefined;
  }

  // ---- factors ---------------------------------------------------------------------------

  async putFactor(factor: Factor, replaces: readonly string[]): Promise<void> {
    await this.call("putFactor", async () => {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...fromFactor(factor), ttl: ttlAt(factor.createdAt) + PENDING_FACTOR_TTL_SECONDS },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      await Promise.all(
        replaces.map((factorId) =>
          this.ignoreConditionFailure(
            this.db.send(
              new DeleteCommand({
                TableName: this.table,
                Key: keys.factor(factor.appId, factor.userId, factorId),
                ConditionExpression: "#status = :pending",
                ExpressionAttributeNames: { "#status": "status" },
                ExpressionAttributeValues: { ":pending": "pending" },
              }),
            ),
          ),
        ),
      );
    });
  }

  async activateFactor(
    factor: Factor,
    details: { now: EpochMs; recoveryCodeHashes: readonly string[]; totpAt?: number },
  ): Promise<ActivationOutcome> {
    const { appId, userId, factorId, type } = factor;
    const { now } = details;
    return this.call("activateFactor", async () => {
      const outcome = await this.compareAndSet<ActivationOutcome>(appId, userId, (state) => {
        const until = state?.lockedUntil;
        if (until !== undefined && until > now)
          return { done: { ok: false, reason: "locked", lockedUntil: until } };
        if (state?.activeFactors[type] !== undefined) return { done: { ok: false, reason: "factor_exists" } };
        const turnsOn = state?.enabled !== true;
        return {
          update: {
            set: {
              enabled: true,
              failedAttempts: 0,
              // Only the activation that turns MFA on proves possession well enough for step-up;
              // a new factor added to an MFA user must not unlock changes to the others.
              ...(turnsOn ? { lastVerifiedAt: now } : {}),
              [activeAttr(type)]: factorId,
              [lastUsedAttr(factorId)]: now,
              ...(turnsOn
                ? { recoveryCodes: new Set(details.recoveryCodeHashes), recoverySetId: randomUUID() }
                : {}),
              ...(details.totpAt === undefined ? {} : { lastTotpAt: details.totpAt }),
            },
            expect: { enabled: state?.enabled === true ? true : undefined, [activeAttr(type)]: undefined },
            notLocked: now,
          },
          result: { ok: true, turnedMfaOn: turnsOn },
        };
      });
      if (!outcome.ok) return outcome;
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.factor(appId, userId, factorId),
            UpdateExpression: "SET #status = :active, activatedAt = :now REMOVE #ttl",
            ConditionExpression: "#status = :pending",
            ExpressionAttributeNames: { "#status": "status", "#ttl": "ttl" },
            ExpressionAttributeValues: { ":active": "active", ":pending": "pending", ":now": now },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // Replaced by a newer enrollment meanwhile: undo the pointer we just set.
        await this.ignoreConditionFailure(
          this.db.send(
            new UpdateCommand({
              TableName: this.table,
              Key: keys.state(appId, userId),
              UpdateExpression: "REMOVE #active",
              ConditionExpression: "#active = :fid",
              ExpressionAttributeNames: { "#active": activeAttr(type) },
              ExpressionAttributeValues: { ":fid": factorId },
            }),
          ),
        );
        return { ok: false, reason: "factor_gone" };
      }
      return outcome;
    });
  }

  // ---- sends and challenges ------------------------------------------------------------

  async reserveSend(
    appId: string,
    userId: string,
    policy: { now: EpochMs; maxCodeRequests: number; windowSeconds: number },
    observed?: { state: UserState | undefined },
  ): Promise<SendReservation | { ok: false; lockedUntil: EpochMs }> {
    const { now, maxCodeRequests, windowSeconds } = policy;
    return this.call("reserveSend", () =>
      this.compareAndSet<SendReservation | { ok: false; lockedUntil: EpochMs }>(
        appId,
        userId,
        (state) => {
          if (state?.lockedUntil !== undefined && state.lockedUntil > now) {
            return { done: { ok: false, lockedUntil: state.lockedUntil } };
          }
          const windowOpen = state?.sendWindowEnd !== undefined && state.sendWindowEnd > now;
          const count = windowOpen ? (state?.sendCount ?? 0) : 0;
          if (windowOpen && count >= maxCodeRequests) {
            return { done: { ok: false, retryAt: state?.sendWindowEnd ?? now } };
          }
          // The window starts with its first send; reaching the maximum restarts the wait from now.
          const reachesMax = count + 1 >= maxCodeRequests;
          const windowEnd =
            windowOpen && !reachesMax ? (state?.sendWindowEnd ?? now) : now + windowSeconds * 1000;
          return {
            update: {
              set: { sendCount: count + 1, sendWindowEnd: windowEnd },
              expect: { sendCount: state?.sendCount, sendWindowEnd: state?.sendWindowEnd },
              notLocked: now,
              zeroIsAbsent: true,
            },
            result: { ok: true, windowEnd },
          };
        },
        observed,
      ),
    );
  }

  async releaseSend(appId: string, userId: string, windowEnd: EpochMs): Promise<void> {
    await this.call("releaseSend", () =>
      this.ignoreConditionFailure(
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.state(appId, userId),
            UpdateExpression: "SET sendCount = sendCount - :one",
            ConditionExpression: "sendCount > :zero AND sendWindowEnd = :windowEnd",
            ExpressionAttributeValues: { ":one": 1, ":zero": 0, ":windowEnd": windowEnd },
          }),
        ),
      ),
    );
  }

  async putChallenge(challenge: Challenge): Promise<void> {
    await this.call("putChallenge", () =>
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: fromChallenge(challenge),
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    );
  }

  async supersedeChallenges(
    appId: string,
    userId: string,
    challengeIds: readonly string[],
    now: EpochMs,
  ): Promise<void> {
    await this.call("supersedeChallenges", () =>
      Promise.all(challengeIds.map((id) => this.markChallengeDead(appId, userId, id, now))),
    );
  }

  async discardChallenge(appId: string, userId: string, challengeId: string, now: EpochMs): Promise<void> {
    await this.call("discardChallenge", () => this.markChallengeDead(appId, userId, challengeId, now));
  }

  private markChallengeDead(
    appId: string,
    userId: string,
    challengeId: string,
    now: EpochMs,
  ): Promise<unknown> {
    return this.ignoreConditionFailure(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.challenge(appId, userId, challengeId),
          UpdateExpression: "SET supersededAt = :now",
          ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(usedAt)",
          ExpressionAttributeValues: { ":now": now },
        }),
      ),
    );
  }

  async recordDelivery(challenge: Challenge): Promise<void> {
    await this.call("recordDelivery", () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.challenge(challenge.appId, challenge.userId, challenge.challengeId),
          UpdateExpression: `SET channel = :channel, factorId = :factorId, destination = :destination, codeHash = :codeHash${
            challenge.verificationId ? ", verificationId = :verificationId" : ""
          }`,
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: {
            ":codeHash": challenge.codeHash,
            ":channel": challenge.channel,
            ":factorId": challenge.factorId,
            ":destination": challenge.destination,
            ...(challenge.verificationId ? { ":verificationId": challenge.verificationId } : {}),
          },
        }),
      ),
    );
  }

  async redeemChallenge(
    appId: string,
    userId: string,
    challengeId: string,
    codeHash: string | undefined,
    now: EpochMs,
    purposes: readonly ChallengePurpose[],
  ): Promise<Challenge | undefined> {
    const purposeValues = Object.fromEntries(purposes.map((p, i) => [`:p${i}`, p]));
    return this.call("redeemChallenge", async () => {
      try {
        const result = await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.challenge(appId, userId, challengeId),
            UpdateExpression: "SET usedAt = :now",
            ConditionExpression: `attribute_exists(pk) AND ${codeHash === undefined ? "" : "codeHash = :hash AND "}attribute_not_exists(usedAt) AND attribute_not_exists(supersededAt) AND expiresAt > :now AND purpose IN (${Object.keys(purposeValues).join(", ")})`,
            ExpressionAttributeValues: {
              ":now": now,
              ...(codeHash === undefined ? {} : { ":hash": codeHash }),
              ...purposeValues,
            },
            ReturnValues: "ALL_NEW",
          }),
        );
        return result.Attributes ? toChallenge(appId, userId, result.Attributes) : undefined;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return undefined;
        throw error;
      }
    });
  }

  // ---- verification outcomes --------------------------------------------------------------

  async reserveAttempt(
    appId: string,
    userId: string,
    policy: { now: EpochMs; maxVerifyAttempts: number; lockoutSeconds: number },
  ): Promise<AttemptReservation> {
    const { now, maxVerifyAttempts, lockoutSeconds } = policy;
    return this.call("reserveAttempt", async () => {
      try {
        const result = await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.state(appId, userId),
            UpdateExpression:
              "SET failedAttempts = if_not_exists(failedAttempts, :zero) + :one, lastAttemptAt = :now",
            ConditionExpression: `${NOT_LOCKED} AND (attribute_not_exists(failedAttempts) OR failedAttempts < :max)`,
            ExpressionAttributeValues: { ":zero": 0, ":one": 1, ":max": maxVerifyAttempts, ":now": now },
            ReturnValues: "UPDATED_NEW",
          }),
        );
        return { ok: true, attempt: Number(result.Attributes?.failedAttempts ?? 1) };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      const state = await this.getUserState(appId, userId);
      if (state?.lockedUntil !== undefined && state.lockedUntil > now) {
        return { ok: false, lockedUntil: state.lockedUntil, justLocked: false };
      }
      // Every attempt is taken. Still in flight: refuse this one without locking (one of them may
      // be right). Left over by a request that died midway: they were never answered, so lock.
      const lastAttemptAt = state?.lastAttemptAt ?? 0;
      if (now - lastAttemptAt < IN_FLIGHT_MS) return { ok: false, busy: true };
      const lockedUntil = now + lockoutSeconds * 1000;
      if (await this.lock(appId, userId, now, lockedUntil, { attempts: maxVerifyAttempts, lastAttemptAt })) {
        return { ok: false, lockedUntil, justLocked: true };
      }
      return { ok: false, busy: true };
    });
  }

  async releaseAttempt(appId: string, userId: string, now: EpochMs): Promise<void> {
    await this.call("releaseAttempt", () =>
      this.ignoreConditionFailure(
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.state(appId, userId),
            UpdateExpression: "SET failedAttempts = failedAttempts - :one",
            ConditionExpression: `failedAttempts > :zero AND ${NOT_LOCKED}`,
            ExpressionAttributeValues: { ":one": 1, ":zero": 0, ":now": now },
          }),
        ),
      ),
    );
  }

  async failAttempt(
    appId: string,
    userId: string,
    attempt: number,
    policy: { now: EpochMs; maxVerifyAttempts: number; lockoutSeconds: number },
  ): Promise<FailureOutcome> {
    const { now, maxVerifyAttempts, lockoutSeconds } = policy;
    if (attempt < maxVerifyAttempts) return { locked: false, failedAttempts: attempt };
    return this.call("failAttempt", async () => {
      const lockedUntil = now + lockoutSeconds * 1000;
      // Lock on what is stored, not on the number reserved earlier: a success in between reset the count.
      if (await this.lock(appId, userId, now, lockedUntil, { attempts: maxVerifyAttempts })) {
        return { locked: true, lockedUntil, justLocked: true };
      }
      const state = await this.getUserState(appId, userId);
      if (state?.lockedUntil !== undefined && state.lockedUntil > now) {
        return { locked: true, lockedUntil: state.lockedUntil };
      }
      return { locked: false, failedAttempts: Math.min(state?.failedAttempts ?? 0, maxVerifyAttempts - 1) };
    });
  }

  /** Locks an unlocked user (and restarts the count for after the lock); false if someone else did first. */
  private async lock(
    appId: string,
    userId: string,
    now: EpochMs,
    lockedUntil: EpochMs,
    onlyIf?: { attempts: number; lastAttemptAt?: EpochMs },
  ): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.state(appId, userId),
          UpdateExpression: "SET lockedUntil = :until, failedAttempts = :zero",
          ConditionExpression: [
            NOT_LOCKED,
            ...(onlyIf ? ["failedAttempts >= :max"] : []),
            ...(onlyIf?.lastAttemptAt !== undefined
              ? ["(attribute_not_exists(lastAttemptAt) OR lastAttemptAt = :seen)"]
              : []),
          ].join(" AND "),
          ExpressionAttributeValues: {
            ":until": lockedUntil,
            ":zero": 0,
            ":now": now,
            ...(onlyIf ? { ":max": onlyIf.attempts } : {}),
            ...(onlyIf?.lastAttemptAt !== undefined ? { ":seen": onlyIf.lastAttemptAt } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async approve(
    appId: string,
    userId: string,
    details: {
      now: EpochMs;
      factorId?: string;
      totpAt?: number;
      challenge?: { purpose: ChallengePurpose; challengeId: string };
    },
  ): Promise<ApprovalOutcome> {
    const { now, factorId, totpAt, challenge } = details;
    return this.call("approve", async () => {
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = { ":zero": 0, ":now": now };
      const sets = ["failedAttempts = :zero", "lastVerifiedAt = :now"];
      let condition = NOT_LOCKED;
      if (factorId) {
        names["#lastUsed"] = lastUsedAttr(factorId);
        sets.push("#lastUsed = :now");
      }
      if (totpAt !== undefined) {
        values[":at"] = totpAt;
        sets.push("lastTotpAt = :at");
        condition += " AND (attribute_not_exists(lastTotpAt) OR lastTotpAt < :at)";
      }
      if (challenge) {
        names["#current"] = currentAttr(challenge.purpose);
        values[":challengeId"] = challenge.challengeId;
        condition += " AND #current = :challengeId";
      }
      try {
        const result = await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.state(appId, userId),
            UpdateExpression: `SET ${sets.join(", ")}`,
            ConditionExpression: condition,
            ExpressionAttributeNames: Object.keys(names).length > 0 ? names : undefined,
            ExpressionAttributeValues: values,
            ReturnValues: "ALL_NEW",
          }),
        );
        const state = toUserState(appId, userId, result.Attributes);
        if (!state) throw new Error("approve returned no state");
        return { ok: true, state };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const item = await this.get(keys.state(appId, userId));
        const lockedUntil = typeof item?.lockedUntil === "number" ? item.lockedUntil : undefined;
        if (lockedUntil !== undefined && lockedUntil > now) return { ok: false, lockedUntil };
        if (challenge && item?.[currentAttr(challenge.purpose)] !== challenge.challengeId) {
          return { ok: false, superseded: true };
        }
        return { ok: false, replayed: true };
      }
    });
  }

  async setCurrentChallenge(challenge: Challenge): Promise<void> {
    await this.call("setCurrentChallenge", () =>
      this.ignoreConditionFailure(
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.state(challenge.appId, challenge.userId),
            UpdateExpression: "SET #current = :challengeId, #currentAt = :createdAt",
            ConditionExpression: "attribute_not_exists(#currentAt) OR #currentAt <= :createdAt",
            ExpressionAttributeNames: {
              "#current": currentAttr(challenge.purpose),
              "#currentAt": `${currentAttr(challenge.purpose)}_at`,
            },
            ExpressionAttributeValues: {
              ":challengeId": challenge.challengeId,
              ":createdAt": challenge.createdAt,
            },
          }),
        ),
      ),
    );
  }

  async consumeRecoveryCode(
    appId: string,
    userId: string,
    codeHash: string,
    now: EpochMs,
  ): Promise<"consumed" | "used" | "no_match" | "locked"> {
    return this.call("consumeRecoveryCode", async () => {
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.state(appId, userId),
            // The spent code is kept (hashed) so a second use is told "used", not counted as a guess.
            UpdateExpression: "DELETE recoveryCodes :set ADD usedRecoveryCodes :set",
            ConditionExpression: `contains(recoveryCodes, :hash) AND ${NOT_LOCKED}`,
            ExpressionAttributeValues: { ":set": new Set([codeHash]), ":hash": codeHash, ":now": now },
          }),
        );
        return "consumed";
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const item = await this.get(keys.state(appId, userId));
        const lockedUntil = typeof item?.lockedUntil === "number" ? item.lockedUntil : undefined;
        if (lockedUntil !== undefined && lockedUntil > now) return "locked";
        const used = item?.usedRecoveryCodes;
        return used instanceof Set && used.has(codeHash) ? "used" : "no_match";
      }
    });
  }

  async removeFactor(factor: Factor, now: EpochMs): Promise<void> {
    const { appId, userId, factorId, type } = factor;
    await this.call("removeFactor", async () => {
      await this.compareAndSet<void>(appId, userId, (state) => {
        if (state?.activeFactors[type] !== factorId) return { done: undefined };
        const othersActive = Object.entries(state.activeFactors).some(([t, id]) => t !== type && id);
        const remove = [activeAttr(type), lastUsedAttr(factorId)];
        // The last factor gone, MFA is off, as with DELETE /mfa: recovery codes and sessions end too.
        if (!othersActive) {
          remove.push("enabled", "recoveryCodes", "usedRecoveryCodes", "recoverySetId", "lastTotpAt");
        }
        const set = othersActive ? {} : { sessionsNotBefore: now };
        return { update: { set, remove, expect: { [activeAttr(type)]: factorId } }, result: undefined };
      });
      await this.db.send(
        new DeleteCommand({ TableName: this.table, Key: keys.factor(appId, userId, factorId) }),
      );
      // Codes already sent to it must stop working with it.
      const challenges = await this.liveChallenges(appId, userId);
      await Promise.all(
        challenges
          .filter((c) => c.factorId === factorId && c.usedAt === undefined && c.supersededAt === undefined)
          .map((c) => this.markChallengeDead(appId, userId, c.challengeId, now)),
      );
    });
  }

  async replaceRecoveryCodes(
    appId: string,
    userId: string,
    hashes: readonly string[],
    now: EpochMs,
    previousSetId: string | undefined,
  ): Promise<"replaced" | "mfa_off" | "conflict" | { lockedUntil: EpochMs }> {
    return this.call("replaceRecoveryCodes", async () => {
      const sameSet =
        previousSetId === undefined ? "attribute_not_exists(recoverySetId)" : "recoverySetId = :previous";
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.state(appId, userId),
            UpdateExpression: "SET recoveryCodes = :set, recoverySetId = :setId REMOVE usedRecoveryCodes",
            ConditionExpression: `enabled = :true AND ${NOT_LOCKED} AND ${sameSet}`,
            ExpressionAttributeValues: {
              ":set": new Set(hashes),
              ":true": true,
              ":now": now,
              ":setId": randomUUID(),
              ...(previousSetId === undefined ? {} : { ":previous": previousSetId }),
            },
          }),
        );
        return "replaced";
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const state = await this.getUserState(appId, userId);
        if (state?.lockedUntil !== undefined && state.lockedUntil > now)
          return { lockedUntil: state.lockedUntil };
        return state?.enabled ? "conflict" : "mfa_off";
      }
    });
  }

  async disableMfa(appId: string, userId: string, now: EpochMs): Promise<void> {
    await this.call("disableMfa", async () => {
      const [{ state, factors }, challenges] = await Promise.all([
        this.loadUser(appId, userId),
        this.liveChallenges(appId, userId),
      ]);
      const remove = [
        "enabled",
        "recoveryCodes",
        "usedRecoveryCodes",
        "recoverySetId",
        "lastTotpAt",
        "active_sms",
        "active_email",
        "active_totp",
      ];
      for (const factorId of Object.keys(state?.lastUsed ?? {})) remove.push(lastUsedAttr(factorId));
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.state(appId, userId),
          UpdateExpression: `SET sessionsNotBefore = :now REMOVE ${remove.map((_, i) => `#r${i}`).join(", ")}`,
          ExpressionAttributeNames: Object.fromEntries(remove.map((name, i) => [`#r${i}`, name])),
          ExpressionAttributeValues: { ":now": now },
        }),
      );
      await Promise.all([
        ...factors.map((f) =>
          this.db.send(
            new DeleteCommand({ TableName: this.table, Key: keys.factor(appId, userId, f.factorId) }),
          ),
        ),
        ...challenges
          .filter((c) => c.usedAt === undefined && c.supersededAt === undefined)
          .map((c) => this.markChallengeDead(appId, userId, c.challengeId, now)),
      ]);
    });
  }

  async revokeUserSessions(appId: string, userId: string, now: EpochMs): Promise<void> {
    await this.call("revokeUserSessions", () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.state(appId, userId),
          UpdateExpression: "SET sessionsNotBefore = :now",
          ExpressionAttributeValues: { ":now": now },
        }),
      ),
    );
  }

  // ---- sessions ---------------------------------------------------------------------------

  /** The session and its per-user reference in one round trip; a 256-bit token cannot collide. */
  async putSession(session: Session): Promise<void> {
    const common = {
      appId: session.appId,
      userId: session.userId,
      method: session.method,
      issuedAt: session.issuedAt,
      expiresAt: session.expiresAt,
      ttl: ttlAt(session.expiresAt),
    };
    await this.call("putSession", async () => {
      let items: Record<string, unknown>[] = [
        { PutRequest: { Item: { ...keys.session(session.tokenHash), ...common } } },
        {
          PutRequest: {
            Item: { ...keys.sessionRef(session.appId, session.userId, session.tokenHash), ...common },
          },
        },
      ];
      for (let attempt = 0; items.length > 0 && attempt < 5; attempt++) {
        const result = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.table]: items as never } }),
        );
        items = (result.UnprocessedItems?.[this.table] as Record<string, unknown>[] | undefined) ?? [];
      }
      if (items.length > 0) throw new StoreUnavailable("putSession: unprocessed items");
    });
  }

  async getSession(tokenHash: string): Promise<Session | undefined> {
    const item = await this.get(keys.session(tokenHash));
    return item ? toSession(tokenHash, item) : undefined;
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

  /**
   * Optimistic compare-and-set on the user's state item: read it consistently, decide, then
   * write only if the attributes the decision rested on are unchanged. Under contention one
   * writer wins each round and the others decide again on fresh state, so no count is lost.
   */
  private async compareAndSet<T>(
    appId: string,
    userId: string,
    decide: (state: UserState | undefined) => CasStep<T>,
    observed?: { state: UserState | undefined },
  ): Promise<T> {
    const attempts = this.settings.maxCasAttempts ?? 50;
    for (let attempt = 0; attempt < attempts; attempt++) {
      // The first round may decide on a state the caller read just before; a change since fails the write.
      const state = attempt === 0 && observed ? observed.state : await this.getUserState(appId, userId);
      const step = decide(state);
      if ("done" in step) return step.done;
      try {
        await this.conditionalSet(keys.state(appId, userId), step.update);
        return step.result;
      } catch (error) {
        if (!(error instanceof CasConflict)) throw error;
      }
    }
    throw new StoreUnavailable("compare-and-set: too much contention");
  }

  private async conditionalSet(key: { pk: string; sk: string }, update: CasUpdate): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const conditions: string[] = [];
    let n = 0;
    for (const [attr, value] of Object.entries(update.set)) {
      names[`#s${n}`] = attr;
      values[`:s${n}`] = value;
      sets.push(`#s${n} = :s${n}`);
      n++;
    }
    for (const [attr, value] of Object.entries(update.expect)) {
      names[`#e${n}`] = attr;
      if (value === undefined) {
        conditions.push(`attribute_not_exists(#e${n})`);
      } else if (value === 0 && update.zeroIsAbsent) {
        values[`:e${n}`] = value;
        conditions.push(`(attribute_not_exists(#e${n}) OR #e${n} = :e${n})`);
      } else {
        values[`:e${n}`] = value;
        conditions.push(`#e${n} = :e${n}`);
      }
      n++;
    }
    if (update.notLocked !== undefined) {
      values[":now"] = update.notLocked;
      conditions.push(NOT_LOCKED);
    }
    const removes = (update.remove ?? []).map((attr) => {
      names[`#r${n}`] = attr;
      return `#r${n++}`;
    });
    const clauses = [
      sets.length > 0 ? `SET ${sets.join(", ")}` : "",
      removes.length > 0 ? `REMOVE ${removes.join(", ")}` : "",
    ];
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: clauses.filter(Boolean).join(" "),
          ConditionExpression: conditions.join(" AND ") || undefined,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new CasConflict();
      throw error;
    }
  }

  private async ignoreConditionFailure(promise: Promise<unknown>): Promise<unknown> {
    try {
      return await promise;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
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
      if (error instanceof StoreUnavailable || error instanceof CasConflict) throw error;
      if (error instanceof ConditionalCheckFailedException) throw error;
      throw new StoreUnavailable(operation, { cause: error });
    }
  }
}

interface CasUpdate {
  set: Record<string, unknown>;
  remove?: string[];
  /** Attribute values the decision rested on; `undefined` means "absent". */
  expect: Record<string, unknown>;
  /** Also require the user not to be locked at this time. */
  notLocked?: EpochMs;
  /** Treat an expected 0 as "0 or absent" (counters start absent). */
  zeroIsAbsent?: boolean;
}

type CasStep<T> = { done: T } | { update: CasUpdate; result: T };
