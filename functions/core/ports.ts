import type { AppConfig, ConfigRules } from "./config.ts";
import type { Breaker, CounterAdd, CounterKey, CountResult, Counts } from "./model/sms-protection.ts";
import type { StateWrite } from "./model/state-write.ts";
import type { FactorRecord, UserRecords, UserState } from "./model/user.ts";
import type { IdempotencyRecord } from "./rules/idempotency.ts";
import type * as z from "./schema.ts";

/** Times in the domain are epoch milliseconds; the HTTP layer renders ISO-8601. */
export type EpochMs = number;

export interface Clock {
  now(): EpochMs;
}

export type { FactorType } from "./factors/registry.ts";
export type { ChallengePurpose, CodeChannel, FactorRecord, UserRecords, UserState } from "./model/user.ts";
/** How a verification was made: a sent code's channel, or a verifier's own method ("totp", "recovery", ...). */
export type VerificationMethod = string;

export interface AppRecord {
  appId: string;
  name: string;
  createdAt: EpochMs;
  sessionsNotBefore?: EpochMs;
}

export interface ApiKeyRecord {
  keyHash: string;
  keyId: string;
  appId: string;
  createdAt: EpochMs;
  revokedAt?: EpochMs;
}

export interface StoredConfig {
  /** As stored: the loader re-validates it, a bad stored value is reported rather than used. */
  raw: unknown;
  version: number;
}

export interface EncryptedValue {
  keyId: string;
  /** base64 of iv | ciphertext | tag */
  data: string;
}

/** The user item as written (`ok`), or as it stood when the condition did not hold. */
export type WriteResult = { ok: true; state: UserState } | { ok: false; state: UserState | undefined };

/**
 * Persistence: it reads, writes under a condition, and queries. Every decision is a rule in
 * core that hands the store a change and its condition; reads that decide are consistent.
 */
export interface Store {
  createApp(app: AppRecord, config: AppConfig, key: ApiKeyRecord): Promise<void>;
  /** `fresh` bypasses any cache: revocations must be seen at once. */
  getApp(appId: string, options?: { fresh?: boolean }): Promise<AppRecord | undefined>;
  listApps(): Promise<AppRecord[]>;
  /** Adds a key to an app (older keys keep working). */
  putApiKey(key: ApiKeyRecord): Promise<void>;
  /** Marks the key revoked; false when the app has no such key. */
  revokeApiKey(appId: string, keyId: string, now: EpochMs): Promise<boolean>;
  /** Every session of the app issued at or before `now` stops validating. */
  revokeAppSessions(appId: string, now: EpochMs): Promise<void>;
  getConfig(appId: string): Promise<StoredConfig | undefined>;
  /** Writes `config` as version `expectedVersion + 1` only if the stored version is still `expectedVersion`. */
  putConfig(appId: string, config: AppConfig, expectedVersion: number): Promise<"ok" | "conflict">;
  getApiKey(keyHash: string): Promise<ApiKeyRecord | undefined>;

  /** The user item and the factor items in one consistent query. */
  loadUser(appId: string, userId: string): Promise<UserRecords>;
  getUserState(appId: string, userId: string): Promise<UserState | undefined>;
  getFactor(appId: string, userId: string, factorId: string): Promise<FactorRecord | undefined>;
  /** One conditional write on the user item (created when absent). */
  writeUserState(appId: string, userId: string, write: StateWrite): Promise<WriteResult>;
  /** A new factor item; `expiresAt` lets the table drop a pending one that was never activated. */
  putFactor(factor: FactorRecord, expiresAt?: EpochMs): Promise<void>;
  /** An activated factor no longer expires. */
  keepFactor(appId: string, userId: string, factorId: string): Promise<void>;
  deleteFactors(appId: string, userId: string, factorIds: readonly string[]): Promise<void>;
}

/**
 * SMS protection's counters: one item per counted thing and window, written with a
 * conditional add (never read first), and each country's breaker (compare-and-set on `rev`).
 */
export interface SmsCounters {
  /** One conditional write: adds unless a capped field would pass its cap. */
  add(appId: string, counter: CounterAdd): Promise<CountResult>;
  /** Takes an add back (unconditionally): the SMS did not go. */
  subtract(appId: string, counter: CounterAdd): Promise<void>;
  /** A counter item's fields; empty when there is none. */
  counts(appId: string, key: CounterKey): Promise<Counts>;
  /** The items of a partition whose sort key is between `from` and `to` (inclusive). */
  countsBetween(
    appId: string,
    partition: string,
    range: { from: string; to: string },
  ): Promise<Array<{ sort: string; counts: Counts }>>;
  /** Every country's breaker as stored. */
  breakers(appId: string): Promise<Record<string, Breaker>>;
  /** Writes a country's breaker only if it is still as read (`expectedRev`; 0: none yet). */
  setBreaker(appId: string, country: string, next: Breaker, expectedRev: number): Promise<boolean>;
}

/**
 * An SES identity's state: `verified` (mail may be sent as it), `pending` (DNS records or the
 * confirmation link not done yet), `failed`, `not_found`, or `unknown` (it could not be read).
 */
export type EmailIdentityStatus = "verified" | "pending" | "failed" | "not_found" | "unknown";

export interface EmailIdentityFact {
  status: EmailIdentityStatus;
  /** The identity that decided: the address itself, or its domain. */
  identity?: string;
  /** What the adapter wants the admin to know: what it checked, or why it could not tell. Never a secret. */
  note?: string;
}

export interface EmailSandboxFact {
  /** In the SES sandbox only verified recipients get mail. */
  sandbox: boolean | "unknown";
  note?: string;
}

/**
 * The deployment's side of delivery, for the doctor route: which providers it offers, and
 * what SES says about the from-address and the account. Only the admin function has one.
 */
export interface DeliverySetup {
  /** Provider names this deployment offers, as `sms.provider` / `email.provider` name them. */
  readonly offered: { readonly sms: readonly string[]; readonly email: readonly string[] };
  /** The local stack: an SMS provider whose secret is not set hands its messages to the outbox instead. */
  readonly outboxUntilSecret?: boolean;
  /** The SES identity that lets mail go out as `fromAddress`: the address, else its domain. */
  emailIdentity(fromAddress: string): Promise<EmailIdentityFact>;
  emailSandbox(): Promise<EmailSandboxFact>;
}

export interface OutgoingEmail {
  to: string;
  fromAddress: string;
  fromName: string;
  subject: string;
  text: string;
  html: string;
  configurationSet: string | null;
}

export interface OutgoingSms {
  to: string;
  body: string;
  /** The number's country, when SMS protection already knows it: a provider choosing a sender by country need not look it up. */
  country?: string;
}

export interface Delivery {
  provider: string;
  providerMessageId: string;
}

export interface EmailProvider {
  sendEmail(message: OutgoingEmail): Promise<Delivery>;
}

/** Sends the text the service wrote, with the service's own code in it (Twilio, the local outbox). */
export interface SmsProvider {
  readonly kind: "message";
  sendSms(message: OutgoingSms, config: AppConfig): Promise<Delivery>;
}

export interface ServiceSecret {
  /** HMAC key for codes and recovery codes. */
  pepper: string;
  /** AES-256 keys for TOTP secrets, base64, by key id; `currentKeyId` encrypts. */
  encryptionKeys: Record<string, string>;
  currentKeyId: string;
}

export interface SecretInfo {
  name: string;
  set: boolean;
  updatedAt: EpochMs | null;
}

export interface Secrets {
  serviceSecret(): Promise<ServiceSecret>;
  /** A provider credential (JSON object), cached at most 5 minutes; `undefined` when never set. */
  providerSecret(name: string): Promise<Record<string, unknown> | undefined>;
  /** Drops the cached copy so the next read fetches it again (after the provider said "authentication failed"). */
  refreshProviderSecret(name: string): void;
  putProviderSecret(name: string, value: Record<string, unknown>): Promise<void>;
  listProviderSecrets(names: readonly string[]): Promise<SecretInfo[]>;
}

/**
 * One provider's credentials: the schema the admin route checks a secret with before storing it
 * (the provider's adapter reads the secret with the same one). Each provider module exports its own.
 */
export interface ProviderSecretSchema {
  /** The provider, e.g. `twilio`. */
  readonly provider: string;
  /** The secret's usual name (`twilio`, `sinch-verification-api`), listed by the admin route. */
  readonly defaultName: string;
  /** A field only this shape has: picks the schema for a secret under another name an app's config refers to. */
  readonly marker: string;
  /** The shape in a few words, for an admin who sent something else. */
  readonly summary: string;
  /** Unknown fields are refused. */
  readonly schema: z.ZodMiniType<Record<string, unknown>>;
}

/** Sinch-style providers generate and check the code themselves. */
export interface VerificationProvider {
  readonly kind: "verification";
  start(
    input: { to: string; locale?: string; expirySeconds: number; reference: string },
    config: AppConfig,
  ): Promise<{ verificationId: string; provider: string }>;
  /** `approved`, `wrong_code` (the provider says the code is not right), or `expired` (finished, no longer checkable). */
  report(
    verificationId: string,
    code: string,
    config: AppConfig,
  ): Promise<"approved" | "wrong_code" | "expired">;
}

export type AuditEventType =
  | "challenge.sent"
  | "challenge.fallback"
  | "verification.approved"
  | "verification.denied"
  | "user.locked"
  | "user.unlocked"
  | "factor.enrolled"
  | "factor.activated"
  | "factor.removed"
  | "recovery.regenerated"
  | "mfa.disabled"
  | "sessions.revoked"
  | "config.updated"
  | "secret.updated"
  | "apikey.created"
  | "apikey.revoked"
  | "app.created"
  | "sms.blocked"
  | "sms.flagged"
  | "sms.breaker_opened"
  | "sms.breaker_closed"
  | "webauthn.counter_regressed";

/** What happened, to whom, through which channel, with what outcome. Destinations masked; never a secret. */
export interface AuditEvent {
  /** Chosen by the caller when it may have to retract the event (an optimistic approval). */
  id?: string;
  appId: string;
  type: AuditEventType;
  outcome: string;
  at: EpochMs;
  userId?: string;
  channel?: string;
  destination?: string;
  ip?: string;
  /** What the event is about besides the user: a secret's name, an API key's id. */
  target?: string;
  /** Who did it, for admin actions: the IAM principal (cloud) or `local-admin`. */
  actor?: string;
}

export interface AuditPage {
  events: AuditEvent[];
  /** Opaque; pass back as `cursor` for the next (older) page. */
  nextCursor: string | null;
}

export interface Audit {
  record(event: AuditEvent): Promise<void>;
  /** Takes back an event recorded with an `id` whose change did not happen after all. */
  retract(event: AuditEvent & { id: string }): Promise<void>;
  /** Newest first. */
  list(appId: string, query: { userId?: string; limit: number; cursor?: string }): Promise<AuditPage>;
}

/**
 * Where a request's audit events go besides the trail (EventBridge in the cloud): once the
 * request is decided, without the events it took back, and best effort (a failure is reported
 * by the adapter, never to the caller).
 */
export interface AuditEventBus {
  publish(events: readonly AuditEvent[]): Promise<void>;
}

/** Service-wide events (provider secrets) are kept under this pseudo app id. */
export const SERVICE_AUDIT_APP_ID = "_service";

/**
 * First answers to requests sent with an `Idempotency-Key`, per app and key hash. `claim` is one
 * conditional write: it succeeds only when no live record holds the key, else it returns the one
 * that does. `complete` and `release` apply only while `token` still holds the claim.
 */
export interface IdempotencyRecords {
  claim<R>(
    appId: string,
    keyHash: string,
    record: IdempotencyRecord<R>,
    now: number,
  ): Promise<{ claimed: true } | { claimed: false; existing: IdempotencyRecord<R> }>;
  complete<R>(appId: string, keyHash: string, token: string, response: R): Promise<void>;
  release(appId: string, keyHash: string, token: string): Promise<void>;
}

export interface Deps {
  store: Store;
  clock: Clock;
  secrets: Secrets;
  email: (config: AppConfig) => EmailProvider;
  /**
   * The SMS provider the app's config selects. Dispatch on its `kind`: a `message` provider sends
   * the service's code, a `verification` provider makes, sends and later checks its own.
   */
  sms: (config: AppConfig) => SmsProvider | VerificationProvider;
  /** Checks a code a `verification` provider made (the challenge holds its `verificationId`). */
  smsVerification: (config: AppConfig) => VerificationProvider;
  audit: Audit;
  smsCounters: SmsCounters;
  /** Only the send function replays first answers; elsewhere there is nothing to wire. */
  idempotency?: IdempotencyRecords;
  /** What config validation allows beyond the cloud's rules (the local stack: loopback provider URLs). */
  configRules?: ConfigRules;
  /** The doctor route's facts about the deployment; only the admin function's wiring sets it. */
  deliverySetup?: DeliverySetup;
}
