import type { EpochMs } from "../ports.ts";

/** Why SMS protection refused (or, in `monitor` mode, would have refused) an SMS. */
export type SmsBlockReason =
  | "destination_limit"
  | "ip_limit"
  | "country_limit"
  | "app_limit"
  | "blocked_prefix"
  | "conversion_breaker";

export const SMS_BLOCK_REASONS: readonly SmsBlockReason[] = [
  "destination_limit",
  "ip_limit",
  "country_limit",
  "app_limit",
  "blocked_prefix",
  "conversion_breaker",
];

/**
 * One counter item of an app: `partition` is what it counts (a number, an IP, the app), `sort`
 * its fixed window. Fields are counts; a window's item expires by TTL after the window.
 */
export interface CounterKey {
  partition: string;
  sort: string;
}

export type Counts = Readonly<Record<string, number>>;

/** Adds `add` to the item's fields; with `caps`, only while each capped field stays at or below its cap. */
export interface CounterAdd extends CounterKey {
  add: Counts;
  caps: Counts;
  expiresAt: EpochMs;
}

/** The fields after the add (`ok`), or as they stood when a cap refused it. */
export type CountResult = { ok: true; counts: Counts } | { ok: false; counts: Counts };

/**
 * A destination country's conversion breaker. `sentBase`/`verifiedBase` are the window's counts
 * when it last opened or closed: the breaker judges what came after, so a resumed country starts
 * afresh. `rev` makes every change a compare-and-set.
 */
export interface Breaker {
  pausedUntil: EpochMs | null;
  window: EpochMs;
  sentBase: number;
  verifiedBase: number;
  rev: number;
}
