import type { z } from "zod";
import type { AppConfig } from "./config.ts";

/** Times in the domain are epoch milliseconds; the HTTP layer renders ISO-8601. */
export type EpochMs = number;

export interface Clock {
  now(): EpochMs;
}

export type FactorType = "sms" | "email" | "totp";
export type CodeChannel = "sms" | "email";
export type ChallengePurpose = "login" | "step_up" | "password_change" | "activation";
export type VerificationMethod = CodeChannel | "totp" | "recovery";

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

export interface Factor {
  factorId: string;
  appId: string;
  userId: string;
  type: FactorType;
  status: "pending" | "active";
  /** Masked form, safe to show. */
  destination: string;
  /** E.164 phone or email address; never logged. */
  address?: string;
  totpSecret?: EncryptedValue;
  createdAt: EpochMs;
  activatedAt?: EpochMs;
  /** The code sent at enrollment, checked by activation. */
  activationChallengeId?: string;
}

export interface UserState {
  appId: string;
  userId: string;
  enabled: boolean;
  failedAttempts: number;
  lockedUntil?: EpochMs;
  sendCount: number;
  sendWindowEnd?: EpochMs;
  lastVerifiedAt?: EpochMs;
  sessionsNotBefore?: EpochMs;
  recoveryCodesRemaining: number;
  activeFactors: Partial<Record<FactorType, string>>;
  lastUsed: Record<string, EpochMs>;
  lastTotpAt?: number;
  lastAttemptAt?: EpochMs;
  /** When the current recovery code set was issued. */
  /** Changes with every new set of recovery codes. */
  recoverySetId?: string;
}

export interface Challenge {
  challengeId: string;
  appId: string;
  userId: string;
  purpose: ChallengePurpose;
  channel: CodeChannel;
  factorId: string;
  /** HMAC of the code; empty when the provider generated the code and checks it (`verificationId`). */
  codeHash: string;
  verificationId?: string;
  destination: string;
  createdAt: EpochMs;
  expiresAt: EpochMs;
  usedAt?: EpochMs;
  supersededAt?: EpochMs;
}

export interface Session {
  tokenHash: string;
  appId: string;
  userId: string;
  method: VerificationMethod;
  issuedAt: EpochMs;
  expiresAt: EpochMs;
}

export interface UserRecords {
  state: UserState | undefined;
  factors: Factor[];
}

export type SendReservation = { ok: true; windowEnd: EpochMs } | { ok: false; retryAt: EpochMs };
export type AttemptReservation =
  | { ok: true; attempt: number }
  | { ok: false; lockedUntil: EpochMs; justLocked: boolean }
  /** Every allowed attempt is being checked right now; none is left until they finish. */
  | { ok: false; busy: true };
export type FailureOutcome =
  | { locked: false; failedAttempts: number }
  /** `justLocked`: this failure was the one that locked the user. */
  | { locked: true; lockedUntil: EpochMs; justLocked?: boolean };
export type ApprovalOutcome =
  | { ok: true; state: UserState }
  | { ok: false; lockedUntil: EpochMs }
  /** The TOTP time step was already used (or an older one was). */
  | { ok: false; replayed: true }
  /** The challenge is no longer the user's newest of its purpose. */
  | { ok: false; superseded: true };
export type ActivationOutcome =
  | { ok: true; turnedMfaOn: boolean }
  | { ok: false; reason: "locked"; lockedUntil: EpochMs }
  | { ok: false; reason: "factor_exists" | "factor_gone" };

/**
 * Persistence. Every method that changes a counter or redeems something is a single
 * conditional write in the adapter, so concurrent requests cannot double-spend.
 * Reads that decide anything are strongly consistent.
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

  loadUser(appId: string, userId: string): Promise<UserRecords>;
  getUserState(appId: string, userId: string): Promise<UserState | undefined>;
  getFactor(appId: string, userId: string, factorId: string): Promise<Factor | undefined>;
  getChallenge(appId: string, userId: string, challengeId: string): Promise<Challenge | undefined>;

  /** Saves a new factor and deletes the pending factors it replaces. */
  putFactor(factor: Factor, replaces: readonly string[]): Promise<void>;
  /** Counts one send in the user's window, unless the window is full or the user is locked. */
  reserveSend(
    appId: string,
    userId: string,
    policy: { now: EpochMs; maxCodeRequests: number; windowSeconds: number },
    /** The state the caller just read consistently: saves a read; a stale one only costs a retry. */
    observed?: { state: UserState | undefined },
  ): Promise<SendReservation | { ok: false; lockedUntil: EpochMs }>;
  /** Gives back a reserved send that no provider accepted. */
  releaseSend(appId: string, userId: string, windowEnd: EpochMs): Promise<void>;
  putChallenge(challenge: Challenge): Promise<void>;
  /** After a new code was delivered: the earlier ones stop working. */
  supersedeChallenges(
    appId: string,
    userId: string,
    challengeIds: readonly string[],
    now: EpochMs,
  ): Promise<void>;
  /** Records how the code went out: the fallback channel, and/or the provider's verification id. */
  recordDelivery(challenge: Challenge): Promise<void>;
  /** A code no provider accepted: it can never be redeemed. */
  discardChallenge(appId: string, userId: string, challengeId: string, now: EpochMs): Promise<void>;
  /** Marks the challenge used iff the hash and purpose match and it is unused, not superseded, not expired. */
  redeemChallenge(
    appId: string,
    userId: string,
    challengeId: string,
    /** `undefined` when the provider already checked the code (then only the claim is conditional). */
    codeHash: string | undefined,
    now: EpochMs,
    purposes: readonly ChallengePurpose[],
  ): Promise<Challenge | undefined>;
  /**
   * Counts one attempt before any code is compared, so a burst of parallel guesses gets no
   * more comparisons than `maxVerifyAttempts`. Refused while locked, and (`busy`) while
   * every allowed attempt is in flight; attempts left over by a crash lock the user later.
   */
  reserveAttempt(
    appId: string,
    userId: string,
    policy: { now: EpochMs; maxVerifyAttempts: number; lockoutSeconds: number },
  ): Promise<AttemptReservation>;
  /** The attempt was no guess after all (unknown or expired challenge, provider fault): give it back. */
  releaseAttempt(appId: string, userId: string, now: EpochMs): Promise<void>;
  /** The attempt was a wrong code: when it was the last one allowed, the user is locked. */
  failAttempt(
    appId: string,
    userId: string,
    attempt: number,
    policy: { now: EpochMs; maxVerifyAttempts: number; lockoutSeconds: number },
  ): Promise<FailureOutcome>;
  /**
   * A successful verification: resets the wrong-code count, unless the user is locked. With
   * `totpAt`, also advances the last accepted TOTP step, only if it is newer.
   */
  approve(
    appId: string,
    userId: string,
    details: {
      now: EpochMs;
      factorId?: string;
      totpAt?: number;
      /** For a sent code: approve only if it is still the user's current challenge of its purpose. */
      challenge?: { purpose: ChallengePurpose; challengeId: string };
    },
  ): Promise<ApprovalOutcome>;
  /**
   * After a code was delivered: it becomes the user's current challenge of its purpose,
   * unless a newer one (by creation time) got there first. Older ones stop approving.
   */
  setCurrentChallenge(challenge: Challenge): Promise<void>;
  /** Makes a pending factor the user's active one of its type; the first one turns MFA on with these recovery codes. */
  activateFactor(
    factor: Factor,
    details: { now: EpochMs; recoveryCodeHashes: readonly string[]; totpAt?: number },
  ): Promise<ActivationOutcome>;
  /** Deletes a factor; when it was the last active one, MFA turns off (recovery codes go too). */
  removeFactor(factor: Factor, now: EpochMs): Promise<void>;
  /** Replaces the whole recovery code set of a user with MFA on. */
  replaceRecoveryCodes(
    appId: string,
    userId: string,
    hashes: readonly string[],
    now: EpochMs,
    /** `recoverySetId` as read: a parallel regeneration makes this one a `conflict`, never a silent loss. */
    previousSetId: string | undefined,
  ): Promise<"replaced" | "mfa_off" | "conflict" | { lockedUntil: EpochMs }>;
  /** Removes every factor and recovery code, kills pending challenges and revokes sessions. */
  disableMfa(appId: string, userId: string, now: EpochMs): Promise<void>;
  /** Sessions of the user issued at or before `now` stop validating. */
  revokeUserSessions(appId: string, userId: string, now: EpochMs): Promise<void>;
  /** Moves one unused recovery code to the used ones, unless the user is locked; `used`: it was spent already. */
  consumeRecoveryCode(
    appId: string,
    userId: string,
    codeHash: string,
    now: EpochMs,
  ): Promise<"consumed" | "used" | "no_match" | "locked">;
  /** Ends a lock and clears the wrong-code count. */
  unlockUser(appId: string, userId: string): Promise<void>;
  /** Sessions of the user that are unexpired and issued after `notBefore`. */
  countActiveSessions(appId: string, userId: string, now: EpochMs, notBefore: EpochMs): Promise<number>;
  putSession(session: Session): Promise<void>;
  getSession(tokenHash: string): Promise<Session | undefined>;
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
  readonly schema: z.ZodType<Record<string, unknown>>;
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
  | "app.created";

/** What happened, to whom, through which channel, with what outcome. Destinations masked; never a secret. */
export interface AuditEvent {
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
  /** Newest first. */
  list(appId: string, query: { userId?: string; limit: number; cursor?: string }): Promise<AuditPage>;
}

/** Service-wide events (provider secrets) are kept under this pseudo app id. */
export const SERVICE_AUDIT_APP_ID = "_service";

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
}
