import type { EncryptedValue, EpochMs } from "../ports.ts";

/** How a code reaches a person. */
export type CodeChannel = "sms" | "email";
export type ChallengePurpose = "login" | "step_up" | "password_change" | "activation";

/** What the user item knows of one active factor: the factor item itself never changes after enrollment. */
export interface ActiveFactor {
  type: string;
  lastUsedAt?: EpochMs;
  /**
   * What the kind keeps about the active factor where an approving write can change it under
   * a condition (a WebAuthn credential and its sign counter). Parsed by the kind that wrote it.
   */
  data?: Readonly<Record<string, unknown>>;
}

/**
 * The user's newest delivered code of one purpose (activation: of one factor type). Only it
 * approves: a newer send overwrites it, approving removes it.
 */
export interface ChallengeSlot {
  id: string;
  /** Keyed hash of the code; empty when the provider made the code and checks it (`verificationId`). */
  hash: string;
  factorId: string;
  /** A code's channel, or the kind that signs `nonce` (`webauthn`). */
  channel: string;
  purpose: ChallengePurpose;
  destination: string;
  createdAt: EpochMs;
  expiresAt: EpochMs;
  verificationId?: string;
  /** An SMS's destination country: its approval counts as a conversion there (SMS protection). */
  country?: string;
  /** For a kind that signs a challenge instead of being sent a code (WebAuthn): that challenge. Public, not a secret. */
  nonce?: string;
}

/**
 * The user's hot state: one item, so reserving an attempt and settling a verification are
 * single-item conditional writes. Field names are the stored attribute names.
 */
export interface UserState {
  enabled?: boolean;
  /** Wrong-code attempts counted (reserved before each comparison). */
  attempts?: number;
  lockedUntil?: EpochMs;
  lastAttemptAt?: EpochMs;
  sends?: number;
  sendWindowEnd?: EpochMs;
  /** The last successful verification: step-up rests on it. */
  verifiedAt?: EpochMs;
  /** Bumped by every revocation: a session token carries the generation it was issued in. */
  sessionGen?: number;
  /** Issue times of the newest sessions, for the admin view's count. */
  sessions?: EpochMs[];
  recovery?: ReadonlySet<string>;
  recoveryUsed?: ReadonlySet<string>;
  recoverySetId?: string;
  /** Start of the newest accepted TOTP time step, in epoch seconds (a time, so a period change reopens nothing). */
  totpAt?: number;
  factors?: Record<string, ActiveFactor>;
  challenges?: Record<string, ChallengeSlot>;
  /** Bumped by every change to the set of active factors: such changes are compare-and-set on it. */
  factorsVersion?: number;
}

/** A factor as enrolled. Whether it is active is the user item's word (`UserState.factors`). */
export interface FactorRecord {
  factorId: string;
  appId: string;
  userId: string;
  type: string;
  /** Masked form, safe to show. */
  destination: string;
  /** E.164 phone or email address; never logged. */
  address?: string;
  /** The country owning an SMS factor's number, found at enrollment, so sending needs no numbering plans. Absent on older factors. */
  country?: string;
  totpSecret?: EncryptedValue;
  /** What the kind keeps on its item at enrollment (a WebAuthn registration challenge); never changed after. */
  data?: Readonly<Record<string, unknown>>;
  createdAt: EpochMs;
}

export interface UserRecords {
  state: UserState | undefined;
  factors: FactorRecord[];
}

export const isLocked = (state: UserState | undefined, now: EpochMs): boolean =>
  state?.lockedUntil !== undefined && state.lockedUntil > now;

export const activeFactorsOf = (state: UserState | undefined): Array<[string, ActiveFactor]> =>
  Object.entries(state?.factors ?? {});

export const recoveryRemaining = (state: UserState | undefined): number => state?.recovery?.size ?? 0;
