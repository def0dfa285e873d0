import type {
  ApiKeyRecord,
  AppRecord,
  Challenge,
  EncryptedValue,
  Factor,
  FactorType,
  Session,
  UserState,
} from "#core/ports";

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
  challenge: (appId: string, userId: string, challengeId: string) => ({
    pk: keys.userPk(appId, userId),
    sk: `CHALLENGE#${challengeId}`,
  }),
  session: (tokenHash: string) => ({ pk: `SESSION#${tokenHash}`, sk: "SESSION" }),
  /** Per-user reference to a session, for counting; sorts after STATE so user reads skip it. */
  sessionRef: (appId: string, userId: string, tokenHash: string) => ({
    pk: keys.userPk(appId, userId),
    sk: `ZSESSION#${tokenHash}`,
  }),
  appIndex: (appId: string) => ({ pk: "APPS", sk: appId }),
  appKey: (appId: string, keyId: string) => ({ pk: `APP#${appId}`, sk: `APIKEY#${keyId}` }),
  audit: (appId: string, at: number, id: string) => ({
    pk: `AUDIT#${appId}`,
    sk: `${new Date(at).toISOString()}#${id}`,
  }),
};

export type Item = Record<string, unknown>;

/** DynamoDB TTL works in epoch seconds; items linger after it, so reads check times themselves. */
export const ttlAt = (epochMs: number): number => Math.ceil(epochMs / 1000);

const FACTOR_TYPES: readonly FactorType[] = ["sms", "email", "totp"];
export const activeAttr = (type: FactorType): string => `active_${type}`;
export const lastUsedAttr = (factorId: string): string => `lastUsed_${factorId}`;
/** The user's newest delivered challenge of a purpose: only it may approve. */
export const currentAttr = (purpose: string): string => `current_${purpose}`;

const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export function toUserState(appId: string, userId: string, item: Item | undefined): UserState | undefined {
  if (!item) return undefined;
  const activeFactors: UserState["activeFactors"] = {};
  for (const type of FACTOR_TYPES) {
    const id = str(item[activeAttr(type)]);
    if (id) activeFactors[type] = id;
  }
  const lastUsed: Record<string, number> = {};
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith("lastUsed_") && typeof value === "number") lastUsed[name.slice(9)] = value;
  }
  const recovery = item.recoveryCodes;
  return {
    appId,
    userId,
    enabled: item.enabled === true,
    failedAttempts: num(item.failedAttempts) ?? 0,
    lockedUntil: num(item.lockedUntil),
    sendCount: num(item.sendCount) ?? 0,
    sendWindowEnd: num(item.sendWindowEnd),
    lastVerifiedAt: num(item.lastVerifiedAt),
    sessionsNotBefore: num(item.sessionsNotBefore),
    recoveryCodesRemaining: recovery instanceof Set ? recovery.size : 0,
    activeFactors,
    lastUsed,
    lastTotpAt: num(item.lastTotpAt),
    lastAttemptAt: num(item.lastAttemptAt),
    recoverySetId: str(item.recoverySetId),
  };
}

export const fromFactor = (f: Factor): Item => ({
  ...keys.factor(f.appId, f.userId, f.factorId),
  type: f.type,
  status: f.status,
  destination: f.destination,
  address: f.address,
  totpSecret: f.totpSecret,
  createdAt: f.createdAt,
  activatedAt: f.activatedAt,
  activationChallengeId: f.activationChallengeId,
});

export function toFactor(appId: string, userId: string, item: Item): Factor {
  return {
    factorId: String(item.sk).slice("FACTOR#".length),
    appId,
    userId,
    type: item.type as FactorType,
    status: item.status === "active" ? "active" : "pending",
    destination: String(item.destination),
    address: str(item.address),
    totpSecret: item.totpSecret as EncryptedValue | undefined,
    createdAt: Number(item.createdAt),
    activatedAt: num(item.activatedAt),
    activationChallengeId: str(item.activationChallengeId),
  };
}

export const fromChallenge = (c: Challenge): Item => ({
  ...keys.challenge(c.appId, c.userId, c.challengeId),
  purpose: c.purpose,
  channel: c.channel,
  factorId: c.factorId,
  codeHash: c.codeHash,
  verificationId: c.verificationId,
  destination: c.destination,
  createdAt: c.createdAt,
  expiresAt: c.expiresAt,
  // Kept a day past expiry so a late attempt still gets 410 rather than 404.
  ttl: ttlAt(c.expiresAt) + 86_400,
});

export function toChallenge(appId: string, userId: string, item: Item): Challenge {
  return {
    challengeId: String(item.sk).slice("CHALLENGE#".length),
    appId,
    userId,
    purpose: item.purpose as Challenge["purpose"],
    channel: item.channel as Challenge["channel"],
    factorId: String(item.factorId),
    codeHash: String(item.codeHash ?? ""),
    verificationId: str(item.verificationId),
    destination: String(item.destination),
    createdAt: Number(item.createdAt),
    expiresAt: Number(item.expiresAt),
    usedAt: num(item.usedAt),
    supersededAt: num(item.supersededAt),
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

export const toSession = (tokenHash: string, item: Item): Session => ({
  tokenHash,
  appId: String(item.appId),
  userId: String(item.userId),
  method: item.method as Session["method"],
  issuedAt: Number(item.issuedAt),
  expiresAt: Number(item.expiresAt),
});
