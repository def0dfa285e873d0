import type { ApiKeyRecord, AppRecord, EncryptedValue, FactorRecord, UserState } from "#core/ports";

/** Key shapes of the single table (see DESIGN.md "Data model"). */
export const keys = {
  app: (appId: string) => ({ pk: `APP#${appId}`, sk: "APP" }),
  config: (appId: string) => ({ pk: `APP#${appId}`, sk: "CONFIG" }),
  apiKey: (keyHash: string) => ({ pk: `KEY#${keyHash}`, sk: "KEY" }),
  userPk: (appId: string, userId: string) => `USER#${appId}#${userId}`,
  state: (appId: string, userId: string) => ({ pk: keys.userPk(appId, userId), sk: "STATE" }),
  factor: (appId: string, userId: string, factorId: string) => ({
    pk: keys.userPk(appId, userId),
    sk: `FACTOR#${factorId}`,
  }),
  appIndex: (appId: string) => ({ pk: "APPS", sk: appId }),
  appKey: (appId: string, keyId: string) => ({ pk: `APP#${appId}`, sk: `APIKEY#${keyId}` }),
  /** SMS protection: one partition per counted thing (a number, an IP, the app's own items). */
  smsCounter: (appId: string, partition: string, sort: string) => ({
    pk: `SMS#${appId}#${partition}`,
    sk: sort,
  }),
  /** A first answer to an `Idempotency-Key` request, by the key's hash. */
  idempotency: (appId: string, keyHash: string) => ({ pk: `IDEM#${appId}#${keyHash}`, sk: "IDEM" }),
  audit: (appId: string, at: number, id: string) => ({
    pk: `AUDIT#${appId}`,
    sk: `${new Date(at).toISOString()}#${id}`,
  }),
};

export type Item = Record<string, unknown>;

/** DynamoDB TTL works in epoch seconds; items linger after it, so reads check times themselves. */
export const ttlAt = (epochMs: number): number => Math.ceil(epochMs / 1000);

const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** The user item is the domain's `UserState` under its own attribute names; only the keys are dropped. */
export function toUserState(item: Item): UserState {
  const { pk: _pk, sk: _sk, ...state } = item;
  return state as UserState;
}

export const fromFactor = (f: FactorRecord): Item => ({
  ...keys.factor(f.appId, f.userId, f.factorId),
  type: f.type,
  destination: f.destination,
  address: f.address,
  country: f.country,
  totpSecret: f.totpSecret,
  data: f.data,
  createdAt: f.createdAt,
});

export function toFactor(appId: string, userId: string, item: Item): FactorRecord {
  return {
    factorId: String(item.sk).slice("FACTOR#".length),
    appId,
    userId,
    type: String(item.type),
    destination: String(item.destination),
    address: str(item.address),
    country: str(item.country),
    totpSecret: item.totpSecret as EncryptedValue | undefined,
    data: isRecord(item.data) ? item.data : undefined,
    createdAt: Number(item.createdAt),
  };
}

export const toApp = (appId: string, item: Item): AppRecord => ({
  appId,
  name: String(item.name),
  createdAt: Number(item.createdAt),
  sessionsNotBefore: num(item.sessionsNotBefore),
});

export const toApiKey = (keyHash: string, item: Item): ApiKeyRecord => ({
  keyHash,
  keyId: String(item.keyId),
  appId: String(item.appId),
  createdAt: Number(item.createdAt),
  revokedAt: num(item.revokedAt),
});
