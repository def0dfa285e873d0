/** The admin routes' answers as API.md describes them (until the generated client's types replace these). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface CreatedApp {
  appId: string;
  apiKey: string;
  keyId: string;
}

export interface AppSummary {
  appId: string;
  name: string;
  createdAt: string;
}

export interface CreatedKey {
  apiKey: string;
  keyId: string;
}

export interface VersionedConfig {
  config: JsonObject;
  /** The ETag to send back in If-Match, e.g. `"7"`. */
  etag: string;
}

export interface SecretInfo {
  name: string;
  set: boolean;
  updatedAt: string | null;
}

export interface TestDelivery {
  delivered: true;
  provider: string;
  providerMessageId?: string;
}

export interface UserFactor {
  factorId: string;
  type: string;
  status: string;
  destination: string;
  createdAt: string;
  lastUsedAt?: string | null;
}

export interface UserView {
  userId: string;
  enabled: boolean;
  lockedUntil: string | null;
  failedAttempts: number;
  factors: UserFactor[];
  recoveryCodesRemaining: number;
  activeSessions: number;
}

export interface AuditEvent {
  at: string;
  type: string;
  outcome?: string;
  userId?: string;
  channel?: string;
  destination?: string;
  ip?: string;
  target?: string;
  actor?: string;
  id?: string;
}

export interface AuditPage {
  events: AuditEvent[];
  nextCursor: string | null;
}

export interface SmsCountry {
  country: string;
  sentInWindow: number;
  verifiedInWindow: number;
  conversion: number | null;
  pausedUntil: string | null;
}

export interface SmsProtectionView {
  mode: string;
  appSentToday: number;
  countries: SmsCountry[];
  blockedLast24h: Record<string, number>;
}

export interface DoctorCheck {
  id: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** false: a warning that does not keep the app from being ready. */
  blocking?: boolean;
}

export interface DoctorReport {
  ready: boolean;
  checks: DoctorCheck[];
}
