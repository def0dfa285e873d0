import type { AppConfig } from "../config.ts";
import type { Breaker, CounterAdd, CountResult, Counts, SmsBlockReason } from "../model/sms-protection.ts";
import type { EpochMs } from "../ports.ts";

export type SmsProtection = AppConfig["smsProtection"];

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Counter items outlive their window a little, so the admin view can still read the day just gone. */
const KEEP_MS = 2 * DAY_MS;

/** Fixed UTC windows: an hour's count is a field of its day's item, so one write counts both. */
const dayOf = (t: EpochMs): string => new Date(t).toISOString().slice(0, 10);
const hourFieldOf = (t: EpochMs): string => `h${new Date(t).toISOString().slice(11, 13)}`;
const hourEnd = (t: EpochMs): EpochMs => Math.floor(t / HOUR_MS) * HOUR_MS + HOUR_MS;
const dayEnd = (t: EpochMs): EpochMs => Math.floor(t / DAY_MS) * DAY_MS + DAY_MS;

/** The partition of the app-wide items: the day's total and per-country hours, conversion windows, breakers. */
export const APP_PARTITION = "app";
export const BREAKERS_SORT = "breakers";
/** A country libphonenumber cannot place (ISO 3166's "unknown"). */
export const UNKNOWN_COUNTRY = "ZZ";

/** A limit one counter item enforces: the field, its cap, and what a refusal by it means. */
export interface Limit {
  field: string;
  max: number;
  reason: SmsBlockReason;
  retryAt: EpochMs;
}

/** A counter write of one send, with the limits it enforces (in the write) or only watches (`monitor`). */
export interface PlannedCounter {
  write: CounterAdd;
  limits: readonly Limit[];
}

export interface SmsSend {
  /** E.164. */
  to: string;
  country: string;
  /** The end user's address, as the client app saw it. */
  clientIp?: string;
}

/** The blocked prefix `to` starts with, if any. */
export const blockedPrefixOf = (protection: SmsProtection, to: string): string | undefined =>
  protection.blockedPrefixes.find((prefix) => to.startsWith(prefix));

/**
 * IPv6 users get a /64 each (often more): counting whole addresses would let one user
 * rotate through 2^64 of them. An IPv4-mapped IPv6 address is its IPv4 address.
 */
export function clientIpKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  if (!ip.includes(":")) return ip;
  const [head = "", tail = ""] = ip.split("::");
  const headParts = head === "" ? [] : head.split(":");
  const tailParts = tail === "" ? [] : tail.split(":");
  const groups = ip.includes("::")
    ? [...headParts, ...Array(8 - headParts.length - tailParts.length).fill("0"), ...tailParts]
    : headParts;
  const prefix = groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16));
  return `${prefix.join(":")}::/64`;
}

const perHourAndDay = (
  partition: string,
  limits: { perHour: number; perDay: number },
  reason: SmsBlockReason,
  now: EpochMs,
): Omit<PlannedCounter, "write"> & { key: { partition: string; sort: string }; add: Counts } => {
  const hour = hourFieldOf(now);
  return {
    key: { partition, sort: dayOf(now) },
    add: { day: 1, [hour]: 1 },
    // The day's cap first: when both are reached, the wait is the longer one.
    limits: [
      { field: "day", max: limits.perDay, reason, retryAt: dayEnd(now) },
      { field: hour, max: limits.perHour, reason, retryAt: hourEnd(now) },
    ],
  };
};

/**
 * The counters one SMS adds to, in the order their refusals are reported: the destination
 * number, the end user's IP (when the client app sent it), the app's day and the destination
 * country's hour (one item). The conversion window is counted only once a provider took the SMS.
 * In `enforce` mode the caps are conditions of the writes; in `monitor` mode the counts are
 * only compared afterwards.
 */
export function plannedCounters(protection: SmsProtection, send: SmsSend, now: EpochMs): PlannedCounter[] {
  const enforce = protection.mode === "enforce";
  const countryHour = `${send.country}#${hourFieldOf(now)}`;
  const countryLimit = protection.perCountry.overrides[send.country] ?? protection.perCountry.perHour;
  const parts = [
    perHourAndDay(`to#${send.to}`, protection.perDestination, "destination_limit", now),
    ...(send.clientIp === undefined
      ? []
      : [perHourAndDay(`ip#${clientIpKey(send.clientIp)}`, protection.perClientIp, "ip_limit", now)]),
    {
      key: { partition: APP_PARTITION, sort: `day#${dayOf(now)}` },
      add: { sent: 1, [countryHour]: 1 },
      limits: [
        { field: "sent", max: protection.appPerDay, reason: "app_limit" as const, retryAt: dayEnd(now) },
        { field: countryHour, max: countryLimit, reason: "country_limit" as const, retryAt: hourEnd(now) },
      ],
    },
  ];
  const windowed = parts.map(({ key, add, limits }) => ({
    write: {
      ...key,
      add,
      caps: enforce ? Object.fromEntries(limits.map((l) => [l.field, l.max])) : {},
      expiresAt: dayEnd(now) + KEEP_MS,
    },
    limits,
  }));
  return windowed;
}

/** The conversion window `at` falls in (fixed windows of `windowSeconds` from the epoch). */
export const conversionWindow = (protection: SmsProtection, at: EpochMs): EpochMs => {
  const size = protection.conversion.windowSeconds * 1000;
  return Math.floor(at / size) * size;
};

export const conversionSort = (window: EpochMs, country: string): string =>
  `conv#${new Date(window).toISOString()}#${country}`;

/**
 * A window's sends are also counted in buckets (at least a code's lifetime long, at most 60 a
 * window), so the breaker can leave out the codes that may still be typed in.
 */
const bucketMs = (protection: SmsProtection, codeTtlSeconds: number): number =>
  Math.max(codeTtlSeconds, protection.conversion.windowSeconds / 60) * 1000;
const bucketField = (index: number): string => `b${index}`;

/** One SMS a provider took for `country` at `at`, or one approved verification of an SMS sent at `at`. */
export function conversionCount(
  protection: SmsProtection,
  country: string,
  at: EpochMs,
  field: "sent" | "verified",
  codeTtlSeconds: number,
): CounterAdd {
  const window = conversionWindow(protection, at);
  const bucket = Math.floor((at - window) / bucketMs(protection, codeTtlSeconds));
  return {
    partition: APP_PARTITION,
    sort: conversionSort(window, country),
    add: field === "sent" ? { sent: 1, [bucketField(bucket)]: 1 } : { verified: 1 },
    caps: {},
    expiresAt: window + protection.conversion.windowSeconds * 1000 + KEEP_MS,
  };
}

/** A refusal: the first counter (in plan order) that refused, by the limit that was reached. */
export interface Refusal {
  reason: SmsBlockReason;
  retryAt: EpochMs;
}

const reachedLimit = (limits: readonly Limit[], counts: Counts, add: Counts): Limit | undefined =>
  limits.find((l) => (counts[l.field] ?? 0) + (add[l.field] ?? 0) > l.max);

/**
 * What the counters' writes say. `enforce`: a refused write names its limit from the counts
 * it returned (when a give-back made room meanwhile, the counter's first limit). `monitor`:
 * a count past its limit is what would have been refused.
 */
export function judgeCounters(
  planned: readonly PlannedCounter[],
  results: readonly CountResult[],
): Refusal | undefined {
  for (const [index, counter] of planned.entries()) {
    const result = results[index];
    if (!result) continue;
    if (!result.ok) {
      const limit = reachedLimit(counter.limits, result.counts, counter.write.add) ?? counter.limits[0];
      if (limit) return { reason: limit.reason, retryAt: limit.retryAt };
      continue;
    }
    const over = counter.limits.find((l) => (result.counts[l.field] ?? 0) > l.max);
    if (over) return { reason: over.reason, retryAt: over.retryAt };
  }
  return undefined;
}

/** The sends and approvals the breaker judges: the window's, less what it had when the breaker last changed. */
export function effectiveConversion(
  breaker: Breaker | undefined,
  window: EpochMs,
  counts: Counts | undefined,
): { sent: number; verified: number } {
  const sameWindow = breaker !== undefined && breaker.window === window;
  return {
    sent: Math.max(0, (counts?.sent ?? 0) - (sameWindow ? breaker.sentBase : 0)),
    verified: Math.max(0, (counts?.verified ?? 0) - (sameWindow ? breaker.verifiedBase : 0)),
  };
}

export type BreakerDecision =
  | { kind: "pass" }
  /** Paused: refused until then. */
  | { kind: "paused"; until: EpochMs }
  /** The pause is over: the breaker closes (this send then passes, its counts start afresh). */
  | { kind: "close"; next: Breaker }
  /** Too few of the sends before this one converted: the breaker opens, this send is refused. */
  | { kind: "open"; next: Breaker; until: EpochMs };

/** Sends of the window whose codes may still be typed in: the buckets that end within a code's lifetime. */
export function pendingSends(
  protection: SmsProtection,
  window: EpochMs,
  counts: Counts,
  now: EpochMs,
  codeTtlSeconds: number,
): number {
  const size = bucketMs(protection, codeTtlSeconds);
  let pending = 0;
  for (let index = Math.floor((now - window) / size); index >= 0; index--) {
    if (window + (index + 1) * size <= now - codeTtlSeconds * 1000) break;
    pending += counts[bucketField(index)] ?? 0;
  }
  return pending;
}

/**
 * The conversion breaker for one country, on the window's counts as read before this send.
 * It opens once at least `minSends` SMS went there in the window (since it last closed) whose
 * codes can no longer be typed in, and fewer than `minRate` of them led to an approved
 * verification. Codes still live are left out: a burst of real sign-ups is not unconverted yet.
 */
export function decideBreaker(
  protection: SmsProtection,
  breaker: Breaker | undefined,
  window: EpochMs,
  counts: Counts,
  now: EpochMs,
  codeTtlSeconds: number,
): BreakerDecision {
  const rev = (breaker?.rev ?? 0) + 1;
  if (breaker?.pausedUntil != null) {
    if (breaker.pausedUntil > now) return { kind: "paused", until: breaker.pausedUntil };
    return { kind: "close", next: closedAt(window, counts, rev) };
  }
  const { sent, verified } = effectiveConversion(breaker, window, counts);
  const settled = Math.max(0, sent - pendingSends(protection, window, counts, now, codeTtlSeconds));
  const { minSends, minRate, pauseSeconds } = protection.conversion;
  if (settled < minSends || verified >= minRate * settled) return { kind: "pass" };
  const until = now + pauseSeconds * 1000;
  const base = breaker?.window === window ? breaker : closedAt(window, undefined, rev);
  return { kind: "open", until, next: { ...base, pausedUntil: until, window, rev } };
}

/** A closed breaker that judges only what comes after `counts` in `window`. */
export const closedAt = (window: EpochMs, counts: Counts | undefined, rev: number): Breaker => ({
  pausedUntil: null,
  window,
  sentBase: Math.max(0, counts?.sent ?? 0),
  verifiedBase: Math.max(0, counts?.verified ?? 0),
  rev,
});

/** The hour's item of refusals by reason, for the admin view's last 24 hours. */
export const blockedCount = (reason: SmsBlockReason, now: EpochMs): CounterAdd => ({
  partition: APP_PARTITION,
  sort: blockedSort(now),
  add: { [reason]: 1 },
  caps: {},
  expiresAt: hourEnd(now) + KEEP_MS,
});

export const blockedSort = (at: EpochMs): string => `blocked#${new Date(at).toISOString().slice(0, 13)}`;

/** The sort keys of the app's day item and the last 24 hourly refusal items. */
export const appDaySort = (now: EpochMs): string => `day#${dayOf(now)}`;
export const blockedRange = (now: EpochMs): { from: string; to: string } => ({
  from: blockedSort(now - 23 * HOUR_MS),
  to: blockedSort(now),
});

/** A refusal whose reason never lifts by itself (a blocked prefix) still says when to look again. */
export const BLOCKED_PREFIX_RETRY_MS = DAY_MS;
