import { randomUUID } from "node:crypto";
import type { AppConfig } from "#core/config";
import { StoreUnavailable } from "#core/errors";
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
  FactorType,
  FailureOutcome,
  SendReservation,
  Session,
  Store,
  StoredConfig,
  UserRecords,
  UserState,
} from "#core/ports";

/**
 * The user's state item as DynamoStore keeps it: every attribute may be absent, recovery
 * codes are a string set (an emptied set disappears, as in DynamoDB), active factors and
 * last-used times are one attribute each.
 */
export interface StateItem {
  enabled?: boolean;
  failedAttempts?: number;
  lockedUntil?: EpochMs;
  sendCount?: number;
  sendWindowEnd?: EpochMs;
  lastVerifiedAt?: EpochMs;
  sessionsNotBefore?: EpochMs;
  recoveryCodes?: Set<string>;
  activeFactors: Partial<Record<FactorType, string>>;
  lastUsed: Record<string, EpochMs>;
  lastTotpAt?: number;
  lastAttemptAt?: EpochMs;
  usedRecoveryCodes?: Set<string>;
  recoverySetId?: string;
  /** Per purpose, the newest delivered challenge (DynamoStore: `current_<purpose>` and its `_at`). */
  currentChallenges?: Partial<Record<ChallengePurpose, { challengeId: string; createdAt: EpochMs }>>;
}

interface ConfigItem {
  configJson: string;
  version: number;
}

/** Everything the store holds, as plain data, for assertions. */
export interface StoreDump {
  apps: AppRecord[];
  configs: { appId: string; config: unknown; version: number }[];
  apiKeys: ApiKeyRecord[];
  users: ({ appId: string; userId: string } & Omit<StateItem, "recoveryCodes"> & {
      recoveryCodes?: string[];
    })[];
  factors: Factor[];
  challenges: Challenge[];
  sessions: Session[];
}

export type StoreMethod = {
  [K in keyof Store]: Store[K] extends (...args: never[]) => unknown ? K : never;
}[keyof Store];

export interface MemoryStoreOptions {
  /**
   * Before each call, yield a random number (0..3) of microtask turns, so concurrent
   * use-case calls interleave between store calls (each call itself stays atomic).
   */
  interleave?: boolean;
}

/** Thrown where DynamoDB would throw a ConditionalCheckFailedException that DynamoStore lets escape. */
export class ConditionFailed extends Error {
  constructor(operation: string) {
    super(`conditional check failed in ${operation}`);
    this.name = "ConditionFailed";
  }
}

const userKey = (appId: string, userId: string): string => JSON.stringify([appId, userId]);
const childKey = (appId: string, userId: string, id: string): string => JSON.stringify([appId, userId, id]);
const copy = <T>(value: T): T => structuredClone(value);

/**
 * An in-memory Store with DynamoStore's semantics: the same conditions on every write, the
 * same upserts (an UpdateCommand creates the state item when it is absent), and the same
 * outcomes. Each method reads and writes with no await in between, so it is atomic like one
 * conditional write. Values go in and out as copies: no caller can reach the stored state.
 */
export class MemoryStore implements Store {
  private readonly apps = new Map<string, AppRecord>();
  private readonly configs = new Map<string, ConfigItem>();
  private readonly apiKeys = new Map<string, ApiKeyRecord>();
  /** appId -> keyId -> keyHash, like DynamoStore's per-app key references. */
  private readonly appKeys = new Map<string, Map<string, string>>();
  private readonly states = new Map<string, StateItem>();
  private readonly factors = new Map<string, Factor>();
  private readonly challenges = new Map<string, Challenge>();
  private readonly sessions = new Map<string, Session>();
  private readonly failures = new Map<StoreMethod, number>();

  /** Every call, in order, by method name. */
  readonly calls: StoreMethod[] = [];

  constructor(private readonly options: MemoryStoreOptions = {}) {}

  // ---- test controls ----------------------------------------------------------------------

  /** The next `times` calls of `method` throw StoreUnavailable, as DynamoStore does on any fault. */
  failNext(method: StoreMethod, times = 1): void {
    this.failures.set(method, (this.failures.get(method) ?? 0) + times);
  }

  /** Forgets injected failures that were not used. */
  heal(): void {
    this.failures.clear();
  }

  callCount(method: StoreMethod): number {
    return this.calls.filter((m) => m === method).length;
  }

  /** A copy of every record. */
  dump(): StoreDump {
    return copy({
      apps: [...this.apps.values()],
      configs: [...this.configs.entries()].map(([appId, item]) => ({
        appId,
        config: JSON.parse(item.configJson) as unknown,
        version: item.version,
      })),
      apiKeys: [...this.apiKeys.values()],
      users: [...this.states.entries()].map(([key, item]) => {
        const [appId, userId] = JSON.parse(key) as [string, string];
        const { recoveryCodes, ...rest } = item;
        return { appId, userId, ...rest, ...(recoveryCodes ? { recoveryCodes: [...recoveryCodes] } : {}) };
      }),
      factors: [...this.factors.values()],
      challenges: [...this.challenges.values()],
      sessions: [...this.sessions.values()],
    });
  }

  /** The raw state item of a user (a copy), or undefined when it does not exist. */
  rawState(appId: string, userId: string): StateItem | undefined {
    const item = this.states.get(userKey(appId, userId));
    return item ? copy(item) : undefined;
  }

  private async enter(method: StoreMethod): Promise<void> {
    this.calls.push(method);
    if (this.options.interleave) {
      const turns = Math.floor(Math.random() * 4);
      for (let i = 0; i < turns; i++) await Promise.resolve();
    }
    const pending = this.failures.get(method) ?? 0;
    if (pending > 0) {
      this.failures.set(method, pending - 1);
      throw new StoreUnavailable(method, { cause: new Error("injected failure") });
    }
  }

  private stateItem(appId: string, userId: string): StateItem | undefined {
    return this.states.get(userKey(appId, userId));
  }

  /** UpdateCommand semantics: the item is created when absent. */
  private upsertState(appId: string, userId: string): StateItem {
    const key = userKey(appId, userId);
    let item = this.states.get(key);
    if (!item) {
      item = { activeFactors: {}, lastUsed: {} };
      this.states.set(key, item);
    }
    return item;
  }

  private static isLocked(item: StateItem | undefined, now: EpochMs): boolean {
    return item?.lockedUntil !== undefined && item.lockedUntil > now;
  }

  /** The same mapping as `toUserState` in dynamodb-items.ts. */
  private static toUserState(
    appId: string,
    userId: string,
    item: StateItem | undefined,
  ): UserState | undefined {
    if (!item) return undefined;
    return {
      appId,
      userId,
      enabled: item.enabled === true,
      failedAttempts: item.failedAttempts ?? 0,
      lockedUntil: item.lockedUntil,
      sendCount: item.sendCount ?? 0,
      sendWindowEnd: item.sendWindowEnd,
      lastVerifiedAt: item.lastVerifiedAt,
      sessionsNotBefore: item.sessionsNotBefore,
      recoveryCodesRemaining: item.recoveryCodes?.size ?? 0,
      activeFactors: { ...item.activeFactors },
      lastUsed: { ...item.lastUsed },
      lastTotpAt: item.lastTotpAt,
      lastAttemptAt: item.lastAttemptAt,
      recoverySetId: item.recoverySetId,
    };
  }

  // ---- apps, config, keys -------------------------------------------------------------------

  async createApp(app: AppRecord, config: AppConfig, key: ApiKeyRecord): Promise<void> {
    await this.enter("createApp");
    if (this.apps.has(app.appId)) throw new ConditionFailed("createApp");
    this.apps.set(app.appId, { appId: app.appId, name: app.name, createdAt: app.createdAt });
    this.configs.set(app.appId, { configJson: JSON.stringify(config), version: config.version });
    this.addApiKey(key);
  }

  private addApiKey(key: ApiKeyRecord): void {
    if (this.apiKeys.has(key.keyHash)) throw new ConditionFailed("putApiKey");
    this.apiKeys.set(key.keyHash, {
      keyHash: key.keyHash,
      keyId: key.keyId,
      appId: key.appId,
      createdAt: key.createdAt,
    });
    const refs = this.appKeys.get(key.appId) ?? new Map<string, string>();
    refs.set(key.keyId, key.keyHash);
    this.appKeys.set(key.appId, refs);
  }

  async listApps(): Promise<AppRecord[]> {
    await this.enter("listApps");
    return [...this.apps.values()]
      .sort((a, b) => (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0))
      .map((app) => ({ appId: app.appId, name: app.name, createdAt: app.createdAt }));
  }

  async putApiKey(key: ApiKeyRecord): Promise<void> {
    await this.enter("putApiKey");
    this.addApiKey(key);
  }

  async revokeApiKey(appId: string, keyId: string, now: EpochMs): Promise<boolean> {
    await this.enter("revokeApiKey");
    const keyHash = this.appKeys.get(appId)?.get(keyId);
    if (keyHash === undefined) return false;
    const key = this.apiKeys.get(keyHash);
    if (!key || key.appId !== appId) throw new ConditionFailed("revokeApiKey");
    key.revokedAt ??= now;
    return true;
  }

  async revokeAppSessions(appId: string, now: EpochMs): Promise<void> {
    await this.enter("revokeAppSessions");
    const app = this.apps.get(appId);
    if (!app) throw new ConditionFailed("revokeAppSessions");
    app.sessionsNotBefore = now;
  }

  async getApp(appId: string, _options?: { fresh?: boolean }): Promise<AppRecord | undefined> {
    await this.enter("getApp");
    const app = this.apps.get(appId);
    return app ? copy(app) : undefined;
  }

  async getConfig(appId: string): Promise<StoredConfig | undefined> {
    await this.enter("getConfig");
    const item = this.configs.get(appId);
    if (!item) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(item.configJson);
    } catch {
      raw = undefined;
    }
    return { raw, version: item.version };
  }

  async putConfig(appId: string, config: AppConfig, expectedVersion: number): Promise<"ok" | "conflict"> {
    await this.enter("putConfig");
    const item = this.configs.get(appId);
    if (!item || item.version !== expectedVersion) return "conflict";
    this.configs.set(appId, { configJson: JSON.stringify(config), version: expectedVersion + 1 });
    return "ok";
  }

  async getApiKey(keyHash: string): Promise<ApiKeyRecord | undefined> {
    await this.enter("getApiKey");
    const key = this.apiKeys.get(keyHash);
    return key ? copy(key) : undefined;
  }

  // ---- user reads -----------------------------------------------------------------------------

  async loadUser(appId: string, userId: string): Promise<UserRecords> {
    await this.enter("loadUser");
    const prefix = userKey(appId, userId).slice(0, -1);
    const mine = <T>(map: Map<string, T>): T[] =>
      [...map.entries()].filter(([key]) => key.startsWith(`${prefix},`)).map(([, value]) => copy(value));
    return {
      state: MemoryStore.toUserState(appId, userId, this.stateItem(appId, userId)),
      factors: mine(this.factors),
    };
  }

  async getUserState(appId: string, userId: string): Promise<UserState | undefined> {
    await this.enter("getUserState");
    return MemoryStore.toUserState(appId, userId, this.stateItem(appId, userId));
  }

  async getFactor(appId: string, userId: string, factorId: string): Promise<Factor | undefined> {
    await this.enter("getFactor");
    const factor = this.factors.get(childKey(appId, userId, factorId));
    return factor ? copy(factor) : undefined;
  }

  async getChallenge(appId: string, userId: string, challengeId: string): Promise<Challenge | undefined> {
    await this.enter("getChallenge");
    const challenge = this.challenges.get(childKey(appId, userId, challengeId));
    return challenge ? copy(challenge) : undefined;
  }

  // ---- factors ----------------------------------------------------------------------------------

  async putFactor(factor: Factor, replaces: readonly string[]): Promise<void> {
    await this.enter("putFactor");
    const key = childKey(factor.appId, factor.userId, factor.factorId);
    if (this.factors.has(key)) throw new ConditionFailed("putFactor");
    this.factors.set(key, copy(factor));
    for (const factorId of replaces) {
      const replacedKey = childKey(factor.appId, factor.userId, factorId);
      if (this.factors.get(replacedKey)?.status === "pending") this.factors.delete(replacedKey);
    }
  }

  async activateFactor(
    factor: Factor,
    details: { now: EpochMs; recoveryCodeHashes: readonly string[]; totpAt?: number },
  ): Promise<ActivationOutcome> {
    await this.enter("activateFactor");
    const { appId, userId, factorId, type } = factor;
    const { now } = details;
    const current = this.stateItem(appId, userId);
    if (current?.lockedUntil !== undefined && current.lockedUntil > now) {
      return { ok: false, reason: "locked", lockedUntil: current.lockedUntil };
    }
    if (current?.activeFactors[type] !== undefined) return { ok: false, reason: "factor_exists" };
    const turnsOn = current?.enabled !== true;
    const state = this.upsertState(appId, userId);
    state.enabled = true;
    state.failedAttempts = 0;
    if (turnsOn) state.lastVerifiedAt = now;
    state.activeFactors[type] = factorId;
    state.lastUsed[factorId] = now;
    if (turnsOn) {
      // DynamoDB refuses an empty set: DynamoStore would fail this write.
      if (details.recoveryCodeHashes.length === 0) throw new StoreUnavailable("activateFactor");
      state.recoveryCodes = new Set(details.recoveryCodeHashes);
      state.recoverySetId = randomUUID();
    }
    if (details.totpAt !== undefined) state.lastTotpAt = details.totpAt;

    // Second write of DynamoStore: the factor must still be pending.
    const key = childKey(appId, userId, factorId);
    const stored = this.factors.get(key);
    if (stored?.status !== "pending") {
      // Replaced by a newer enrollment meanwhile: DynamoStore undoes the pointer only.
      if (state.activeFactors[type] === factorId) delete state.activeFactors[type];
      return { ok: false, reason: "factor_gone" };
    }
    this.factors.set(key, { ...stored, status: "active", activatedAt: now });
    return { ok: true, turnedMfaOn: turnsOn };
  }

  // ---- sends and challenges ---------------------------------------------------------------------

  async reserveSend(
    appId: string,
    userId: string,
    policy: { now: EpochMs; maxCodeRequests: number; windowSeconds: number },
  ): Promise<SendReservation | { ok: false; lockedUntil: EpochMs }> {
    await this.enter("reserveSend");
    const { now, maxCodeRequests, windowSeconds } = policy;
    const current = this.stateItem(appId, userId);
    if (current?.lockedUntil !== undefined && current.lockedUntil > now) {
      return { ok: false, lockedUntil: current.lockedUntil };
    }
    const windowOpen = current?.sendWindowEnd !== undefined && current.sendWindowEnd > now;
    const count = windowOpen ? (current?.sendCount ?? 0) : 0;
    if (windowOpen && count >= maxCodeRequests) {
      return { ok: false, retryAt: current?.sendWindowEnd ?? now };
    }
    // The window starts with its first send; reaching the maximum restarts the wait from now.
    const reachesMax = count + 1 >= maxCodeRequests;
    const windowEnd =
      windowOpen && !reachesMax ? (current?.sendWindowEnd ?? now) : now + windowSeconds * 1000;
    const state = this.upsertState(appId, userId);
    state.sendCount = count + 1;
    state.sendWindowEnd = windowEnd;
    return { ok: true, windowEnd };
  }

  async releaseSend(appId: string, userId: string, windowEnd: EpochMs): Promise<void> {
    await this.enter("releaseSend");
    const state = this.stateItem(appId, userId);
    if (state?.sendCount !== undefined && state.sendCount > 0 && state.sendWindowEnd === windowEnd) {
      state.sendCount -= 1;
    }
  }

  async putChallenge(challenge: Challenge): Promise<void> {
    await this.enter("putChallenge");
    const key = childKey(challenge.appId, challenge.userId, challenge.challengeId);
    if (this.challenges.has(key)) throw new ConditionFailed("putChallenge");
    const { usedAt: _used, supersededAt: _superseded, ...item } = challenge;
    this.challenges.set(key, copy(item));
  }

  async supersedeChallenges(
    appId: string,
    userId: string,
    challengeIds: readonly string[],
    now: EpochMs,
  ): Promise<void> {
    await this.enter("supersedeChallenges");
    for (const id of challengeIds) this.markChallengeDead(appId, userId, id, now);
  }

  async discardChallenge(appId: string, userId: string, challengeId: string, now: EpochMs): Promise<void> {
    await this.enter("discardChallenge");
    this.markChallengeDead(appId, userId, challengeId, now);
  }

  /** `attribute_exists(pk) AND attribute_not_exists(usedAt)`, else silently nothing. */
  private markChallengeDead(appId: string, userId: string, challengeId: string, now: EpochMs): void {
    const challenge = this.challenges.get(childKey(appId, userId, challengeId));
    if (challenge && challenge.usedAt === undefined) challenge.supersededAt = now;
  }

  async recordDelivery(challenge: Challenge): Promise<void> {
    await this.enter("recordDelivery");
    const stored = this.challenges.get(childKey(challenge.appId, challenge.userId, challenge.challengeId));
    if (!stored) throw new ConditionFailed("recordDelivery");
    stored.channel = challenge.channel;
    stored.factorId = challenge.factorId;
    stored.destination = challenge.destination;
    stored.codeHash = challenge.codeHash;
    if (challenge.verificationId) stored.verificationId = challenge.verificationId;
  }

  async redeemChallenge(
    appId: string,
    userId: string,
    challengeId: string,
    codeHash: string | undefined,
    now: EpochMs,
    purposes: readonly ChallengePurpose[],
  ): Promise<Challenge | undefined> {
    await this.enter("redeemChallenge");
    // `purpose IN ()` is not a valid DynamoDB condition: DynamoStore would fail.
    if (purposes.length === 0) throw new StoreUnavailable("redeemChallenge");
    const challenge = this.challenges.get(childKey(appId, userId, challengeId));
    if (
      !challenge ||
      (codeHash !== undefined && challenge.codeHash !== codeHash) ||
      challenge.usedAt !== undefined ||
      challenge.supersededAt !== undefined ||
      !(challenge.expiresAt > now) ||
      !purposes.includes(challenge.purpose)
    ) {
      return undefined;
    }
    challenge.usedAt = now;
    return copy(challenge);
  }

  // ---- verification outcomes ----------------------------------------------------------------------

  async reserveAttempt(
    appId: string,
    userId: string,
    policy: { now: EpochMs; maxVerifyAttempts: number; lockoutSeconds: number },
  ): Promise<AttemptReservation> {
    await this.enter("reserveAttempt");
    const { now, maxVerifyAttempts, lockoutSeconds } = policy;
    const current = this.stateItem(appId, userId);
    if (current?.lockedUntil !== undefined && current.lockedUntil > now) {
      return { ok: false, lockedUntil: current.lockedUntil, justLocked: false };
    }
    const used = current?.failedAttempts ?? 0;
    if (used >= maxVerifyAttempts) {
      // As DynamoStore: attempts in flight (recent) make this one wait; stale ones lock.
      if (now - (current?.lastAttemptAt ?? 0) < 30_000) return { ok: false, busy: true };
      const state = this.upsertState(appId, userId);
      state.failedAttempts = 0;
      state.lockedUntil = now + lockoutSeconds * 1000;
      return { ok: false, lockedUntil: state.lockedUntil, justLocked: true };
    }
    const state = this.upsertState(appId, userId);
    state.failedAttempts = used + 1;
    state.lastAttemptAt = now;
    return { ok: true, attempt: used + 1 };
  }

  async releaseAttempt(appId: string, userId: string, now: EpochMs): Promise<void> {
    await this.enter("releaseAttempt");
    const state = this.stateItem(appId, userId);
    if (!state || MemoryStore.isLocked(state, now) || !((state.failedAttempts ?? 0) > 0)) return;
    state.failedAttempts = (state.failedAttempts ?? 0) - 1;
  }

  async failAttempt(
    appId: string,
    userId: string,
    attempt: number,
    policy: { now: EpochMs; maxVerifyAttempts: number; lockoutSeconds: number },
  ): Promise<FailureOutcome> {
    await this.enter("failAttempt");
    const { now, maxVerifyAttempts, lockoutSeconds } = policy;
    if (attempt < maxVerifyAttempts) return { locked: false, failedAttempts: attempt };
    const current = this.stateItem(appId, userId);
    if (current?.lockedUntil !== undefined && current.lockedUntil > now) {
      return { locked: true, lockedUntil: current.lockedUntil };
    }
    // As DynamoStore: lock on the stored count (a success in between reset it), not on the reserved number.
    if ((current?.failedAttempts ?? 0) < maxVerifyAttempts) {
      return { locked: false, failedAttempts: Math.min(current?.failedAttempts ?? 0, maxVerifyAttempts - 1) };
    }
    const state = this.upsertState(appId, userId);
    state.failedAttempts = 0;
    state.lockedUntil = now + lockoutSeconds * 1000;
    return { locked: true, lockedUntil: state.lockedUntil, justLocked: true };
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
    await this.enter("approve");
    const { now, factorId, totpAt, challenge } = details;
    const current = this.stateItem(appId, userId);
    if (current?.lockedUntil !== undefined && current.lockedUntil > now) {
      return { ok: false, lockedUntil: current.lockedUntil };
    }
    if (challenge && current?.currentChallenges?.[challenge.purpose]?.challengeId !== challenge.challengeId) {
      return { ok: false, superseded: true };
    }
    if (totpAt !== undefined && current?.lastTotpAt !== undefined && !(current.lastTotpAt < totpAt)) {
      return { ok: false, replayed: true };
    }
    const state = this.upsertState(appId, userId);
    state.failedAttempts = 0;
    state.lastVerifiedAt = now;
    if (factorId) state.lastUsed[factorId] = now;
    if (totpAt !== undefined) state.lastTotpAt = totpAt;
    const result = MemoryStore.toUserState(appId, userId, state);
    if (!result) throw new Error("approve returned no state");
    return { ok: true, state: result };
  }

  async setCurrentChallenge(challenge: Challenge): Promise<void> {
    await this.enter("setCurrentChallenge");
    const state = this.upsertState(challenge.appId, challenge.userId);
    const current = state.currentChallenges?.[challenge.purpose];
    if (current && current.createdAt > challenge.createdAt) return;
    state.currentChallenges = {
      ...(state.currentChallenges ?? {}),
      [challenge.purpose]: { challengeId: challenge.challengeId, createdAt: challenge.createdAt },
    };
  }

  async consumeRecoveryCode(
    appId: string,
    userId: string,
    codeHash: string,
    now: EpochMs,
  ): Promise<"consumed" | "used" | "no_match" | "locked"> {
    await this.enter("consumeRecoveryCode");
    const state = this.stateItem(appId, userId);
    if (MemoryStore.isLocked(state, now)) return "locked";
    if (!state?.recoveryCodes?.has(codeHash))
      return state?.usedRecoveryCodes?.has(codeHash) ? "used" : "no_match";
    state.recoveryCodes.delete(codeHash);
    if (state.recoveryCodes.size === 0) delete state.recoveryCodes;
    state.usedRecoveryCodes = new Set([...(state.usedRecoveryCodes ?? []), codeHash]);
    return "consumed";
  }

  async removeFactor(factor: Factor, now: EpochMs): Promise<void> {
    await this.enter("removeFactor");
    const { appId, userId, factorId, type } = factor;
    const state = this.stateItem(appId, userId);
    if (state && state.activeFactors[type] === factorId) {
      delete state.activeFactors[type];
      delete state.lastUsed[factorId];
      const othersActive = Object.values(state.activeFactors).some((id) => id !== undefined);
      // The last factor gone, MFA is off: recovery codes must not outlive it.
      if (!othersActive) {
        delete state.enabled;
        delete state.recoveryCodes;
        delete state.usedRecoveryCodes;
        delete state.recoverySetId;
        delete state.lastTotpAt;
        state.sessionsNotBefore = now;
      }
    }
    this.factors.delete(childKey(appId, userId, factorId));
    for (const challenge of this.challenges.values()) {
      if (challenge.appId === appId && challenge.userId === userId && challenge.factorId === factorId) {
        this.markChallengeDead(appId, userId, challenge.challengeId, now);
      }
    }
  }

  async replaceRecoveryCodes(
    appId: string,
    userId: string,
    hashes: readonly string[],
    now: EpochMs,
    previousSetId: string | undefined,
  ): Promise<"replaced" | "mfa_off" | "conflict" | { lockedUntil: EpochMs }> {
    await this.enter("replaceRecoveryCodes");
    const state = this.stateItem(appId, userId);
    if (state?.lockedUntil !== undefined && state.lockedUntil > now)
      return { lockedUntil: state.lockedUntil };
    if (state?.enabled !== true) return "mfa_off";
    if (state.recoverySetId !== previousSetId) return "conflict";
    // DynamoDB refuses an empty set: DynamoStore would fail this write.
    if (hashes.length === 0) throw new StoreUnavailable("replaceRecoveryCodes");
    state.recoveryCodes = new Set(hashes);
    state.recoverySetId = randomUUID();
    delete state.usedRecoveryCodes;
    return "replaced";
  }

  async disableMfa(appId: string, userId: string, now: EpochMs): Promise<void> {
    await this.enter("disableMfa");
    const state = this.upsertState(appId, userId);
    state.sessionsNotBefore = now;
    delete state.enabled;
    delete state.recoveryCodes;
    delete state.usedRecoveryCodes;
    delete state.recoverySetId;
    delete state.lastTotpAt;
    state.activeFactors = {};
    state.lastUsed = {};
    const prefix = `${userKey(appId, userId).slice(0, -1)},`;
    for (const key of [...this.factors.keys()]) if (key.startsWith(prefix)) this.factors.delete(key);
    for (const [key, challenge] of this.challenges) {
      if (key.startsWith(prefix) && challenge.usedAt === undefined && challenge.supersededAt === undefined) {
        challenge.supersededAt = now;
      }
    }
  }

  async revokeUserSessions(appId: string, userId: string, now: EpochMs): Promise<void> {
    await this.enter("revokeUserSessions");
    this.upsertState(appId, userId).sessionsNotBefore = now;
  }

  async unlockUser(appId: string, userId: string): Promise<void> {
    await this.enter("unlockUser");
    const state = this.upsertState(appId, userId);
    state.failedAttempts = 0;
    delete state.lockedUntil;
  }

  async countActiveSessions(
    appId: string,
    userId: string,
    now: EpochMs,
    notBefore: EpochMs,
  ): Promise<number> {
    await this.enter("countActiveSessions");
    return [...this.sessions.values()].filter(
      (s) => s.appId === appId && s.userId === userId && s.expiresAt > now && s.issuedAt > notBefore,
    ).length;
  }

  // ---- sessions -------------------------------------------------------------------------------------

  async putSession(session: Session): Promise<void> {
    await this.enter("putSession");
    if (this.sessions.has(session.tokenHash)) throw new ConditionFailed("putSession");
    this.sessions.set(session.tokenHash, copy(session));
  }

  async getSession(tokenHash: string): Promise<Session | undefined> {
    await this.enter("getSession");
    const session = this.sessions.get(tokenHash);
    return session ? copy(session) : undefined;
  }
}
