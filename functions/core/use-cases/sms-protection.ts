import { recordAudit } from "../audit.ts";
import { DomainError, StoreUnavailable } from "../errors.ts";
import type { Breaker, CounterAdd, CountResult, Counts, SmsBlockReason } from "../model/sms-protection.ts";
import type { ChallengeSlot } from "../model/user.ts";
import { countryOf } from "../phone.ts";
import type { AuditEvent, Deps, EpochMs } from "../ports.ts";
import {
  APP_PARTITION,
  appDaySort,
  BLOCKED_PREFIX_RETRY_MS,
  blockedCount,
  blockedPrefixOf,
  blockedRange,
  closedAt,
  conversionCount,
  conversionSort,
  conversionWindow,
  decideBreaker,
  effectiveConversion,
  judgeCounters,
  plannedCounters,
  type Refusal,
  type SmsProtection,
  UNKNOWN_COUNTRY,
} from "../rules/sms-protection.ts";
import type { AppContext } from "./app-config.ts";

export interface SmsAttempt {
  userId: string;
  /** E.164. */
  to: string;
  /** Masked, for the audit trail. */
  destination: string;
  /** The end user's IP as the client app sent it: the per-IP limits count only this. */
  clientIp?: string;
  /** The number's country as enrollment found it; absent, it is looked up. */
  country?: string;
}

export type SmsAdmission =
  /**
   * The SMS may go. `confirm` counts it in its country's conversion window once a provider
   * took it (beside the challenge's registration); `release` gives its counts back when none did.
   */
  | { kind: "admitted"; country: string; confirm: () => Promise<void>; release: () => Promise<void> }
  | { kind: "refused"; reason: SmsBlockReason; retryAt: EpochMs };

const nothing = async (): Promise<void> => undefined;

/**
 * SMS protection, before any SMS leaves: the blocked prefixes, then one round trip that adds
 * to every counter of the send in parallel (conditional writes in `enforce` mode) and reads
 * the country's breaker and conversion window beside them. A refusal gives back what it
 * added and is audited; `monitor` mode audits what it would have refused and lets the SMS go
 * (a store fault included); `off` does nothing. In `enforce` mode a store fault sends nothing.
 */
export async function admitSms(deps: Deps, ctx: AppContext, attempt: SmsAttempt): Promise<SmsAdmission> {
  const protection = ctx.config.smsProtection;
  const country = attempt.country ?? (await countryOf(attempt.to)) ?? UNKNOWN_COUNTRY;
  if (protection.mode === "off") return { kind: "admitted", country, confirm: nothing, release: nothing };
  const { appId } = ctx.app;
  const now = deps.clock.now();
  const enforce = protection.mode === "enforce";
  const event = {
    appId,
    userId: attempt.userId,
    channel: "sms",
    destination: attempt.destination,
    ip: attempt.clientIp,
    target: country,
  };

  const prefix = blockedPrefixOf(protection, attempt.to);
  if (prefix !== undefined && enforce) {
    return refuse(deps, event, { reason: "blocked_prefix", retryAt: now + BLOCKED_PREFIX_RETRY_MS }, []);
  }

  const window = conversionWindow(protection, now);
  const planned = plannedCounters(protection, { to: attempt.to, country, clientIp: attempt.clientIp }, now);
  const [breakersRead, conversionRead, ...written] = await Promise.allSettled([
    deps.smsCounters.breakers(appId),
    deps.smsCounters.counts(appId, { partition: APP_PARTITION, sort: conversionSort(window, country) }),
    ...planned.map((counter) => deps.smsCounters.add(appId, counter.write)),
  ]);
  const counts: CountResult[] = [];
  const added: CounterAdd[] = [];
  written.forEach((result, i) => {
    if (result.status !== "fulfilled") return;
    const value = result.value as CountResult;
    counts.push(value);
    if (value.ok && planned[i]) added.push(planned[i].write);
  });
  const release = () => giveBack(deps, appId, added);
  const confirm = () =>
    deps.smsCounters
      .add(appId, conversionCount(protection, country, now, "sent", ctx.config.code.ttlSeconds))
      .then(nothing, nothing);
  const admitted: SmsAdmission = { kind: "admitted", country, confirm, release };

  try {
    if (
      breakersRead?.status !== "fulfilled" ||
      conversionRead?.status !== "fulfilled" ||
      counts.length < planned.length
    ) {
      const fault = [breakersRead, conversionRead, ...written].find((r) => r?.status === "rejected");
      throw fault?.status === "rejected" ? fault.reason : new StoreUnavailable("smsCounters");
    }
    const breakers = breakersRead.value as Record<string, Breaker>;
    const conversion = conversionRead.value as Counts;

    const flagged: Refusal[] = [];
    if (prefix !== undefined)
      flagged.push({ reason: "blocked_prefix", retryAt: now + BLOCKED_PREFIX_RETRY_MS });
    const byCounters = judgeCounters(planned, counts);
    if (byCounters) {
      if (enforce) return await refuse(deps, event, byCounters, added);
      flagged.push(byCounters);
    }

    const breaker = breakers[country];
    const decision = decideBreaker(protection, breaker, window, conversion, now, ctx.config.code.ttlSeconds);
    if (decision.kind === "paused") {
      const paused: Refusal = { reason: "conversion_breaker", retryAt: decision.until };
      // Paused while enforcing, then switched to monitor: monitor still refuses nothing.
      if (enforce) return await refuse(deps, event, paused, added);
      flagged.push(paused);
    }
    if (decision.kind === "close") {
      if (await deps.smsCounters.setBreaker(appId, country, decision.next, breaker?.rev ?? 0)) {
        await recordAudit(deps, { ...event, type: "sms.breaker_closed", outcome: "expired" });
      }
    }
    if (decision.kind === "open") {
      const breakerRefusal: Refusal = { reason: "conversion_breaker", retryAt: decision.until };
      if (!enforce) {
        flagged.push(breakerRefusal);
      } else {
        if (await deps.smsCounters.setBreaker(appId, country, decision.next, breaker?.rev ?? 0)) {
          await recordAudit(deps, { ...event, type: "sms.breaker_opened", outcome: "opened" });
        }
        return await refuse(deps, event, breakerRefusal, added);
      }
    }
    await Promise.all(
      flagged.map((f) => recordAudit(deps, { ...event, type: "sms.flagged", outcome: f.reason })),
    );
    return admitted;
  } catch (error) {
    // Whatever failed after counting: give the counts back. Enforcing, nothing leaves
    // unprotected (the caller answers 503 or tries the next channel); monitoring refuses nothing.
    if (enforce) {
      await release();
      throw error;
    }
    return admitted;
  }
}

async function refuse(
  deps: Deps,
  event: Omit<AuditEvent, "at" | "type" | "outcome">,
  refusal: Refusal,
  added: readonly CounterAdd[],
): Promise<SmsAdmission> {
  const now = deps.clock.now();
  await Promise.all([
    giveBack(deps, event.appId, added),
    recordAudit(deps, { ...event, type: "sms.blocked", outcome: refusal.reason }),
    // The admin view's "blocked in the last 24 hours": best-effort, like the audit trail.
    deps.smsCounters.add(event.appId, blockedCount(refusal.reason, now)).catch(() => undefined),
  ]);
  return { kind: "refused", ...refusal };
}

/** A failed give-back leaves the SMS counted: the safe side. */
const giveBack = async (deps: Deps, appId: string, added: readonly CounterAdd[]): Promise<void> => {
  await Promise.all(added.map((c) => deps.smsCounters.subtract(appId, c).catch(() => undefined)));
};

export const smsBlockedError = (refusal: { reason: SmsBlockReason; retryAt: EpochMs }, now: EpochMs) => {
  const retryAfterSeconds = Math.max(1, Math.ceil((refusal.retryAt - now) / 1000));
  return new DomainError(
    "sms_blocked",
    `SMS protection refused this SMS (${refusal.reason}). Try again in ${retryAfterSeconds} s.`,
    { reason: refusal.reason, retryAfterSeconds },
  );
};

/**
 * An approved SMS code is a conversion in its country's window (the window it was sent in).
 * Written beside the approving write; `undo` takes it back if that write was refused.
 */
export function conversionOf(
  deps: Deps,
  ctx: AppContext,
  slot: ChallengeSlot,
): { record: () => Promise<void>; undo: () => Promise<void> } | undefined {
  const protection = ctx.config.smsProtection;
  if (protection.mode === "off" || slot.channel !== "sms" || slot.country === undefined) return undefined;
  const counter = conversionCount(
    protection,
    slot.country,
    slot.createdAt,
    "verified",
    ctx.config.code.ttlSeconds,
  );
  const { appId } = ctx.app;
  return {
    // Best-effort: a lost count makes the breaker stricter, never lets more SMS through.
    record: () => deps.smsCounters.add(appId, counter).then(nothing, nothing),
    undo: () => deps.smsCounters.subtract(appId, counter).catch(nothing),
  };
}

export interface CountryView {
  country: string;
  sentInWindow: number;
  verifiedInWindow: number;
  conversion: number | null;
  pausedUntil: EpochMs | null;
}

export interface SmsProtectionView {
  mode: SmsProtection["mode"];
  appSentToday: number;
  countries: CountryView[];
  blockedLast24h: Record<string, number>;
}

/** The admin view: today's total, each country's conversion window and breaker, and refusals by reason. */
export async function smsProtectionStatus(deps: Deps, ctx: AppContext): Promise<SmsProtectionView> {
  const protection = ctx.config.smsProtection;
  const { appId } = ctx.app;
  const now = deps.clock.now();
  const window = conversionWindow(protection, now);
  const prefix = conversionSort(window, "");
  const [day, windows, breakers, blocked] = await Promise.all([
    deps.smsCounters.counts(appId, { partition: APP_PARTITION, sort: appDaySort(now) }),
    deps.smsCounters.countsBetween(appId, APP_PARTITION, { from: prefix, to: `${prefix}~` }),
    deps.smsCounters.breakers(appId),
    deps.smsCounters.countsBetween(appId, APP_PARTITION, blockedRange(now)),
  ]);
  const byCountry = new Map<string, Counts>(windows.map((w) => [w.sort.slice(prefix.length), w.counts]));
  const countries = [...new Set([...byCountry.keys(), ...Object.keys(breakers)])].sort().map((country) => {
    const breaker = breakers[country];
    const { sent, verified } = effectiveConversion(breaker, window, byCountry.get(country));
    const paused = breaker?.pausedUntil != null && breaker.pausedUntil > now ? breaker.pausedUntil : null;
    return {
      country,
      sentInWindow: sent,
      verifiedInWindow: verified,
      conversion: sent === 0 ? null : Math.min(1, verified / sent),
      pausedUntil: paused,
    };
  });
  const blockedLast24h: Record<string, number> = {};
  for (const hour of blocked) {
    for (const [reason, n] of Object.entries(hour.counts))
      blockedLast24h[reason] = (blockedLast24h[reason] ?? 0) + n;
  }
  return { mode: protection.mode, appSentToday: day.sent ?? 0, countries, blockedLast24h };
}

/** Closes a country's breaker now; the breaker then judges only what comes after. */
export async function resumeCountry(
  deps: Deps,
  ctx: AppContext,
  country: string,
  actor?: string,
): Promise<void> {
  const protection = ctx.config.smsProtection;
  const { appId } = ctx.app;
  for (let round = 0; round < 10; round++) {
    const now = deps.clock.now();
    const window = conversionWindow(protection, now);
    const [breakers, counts] = await Promise.all([
      deps.smsCounters.breakers(appId),
      deps.smsCounters.counts(appId, { partition: APP_PARTITION, sort: conversionSort(window, country) }),
    ]);
    const breaker: Breaker | undefined = breakers[country];
    const wasPaused = breaker?.pausedUntil != null && breaker.pausedUntil > now;
    if (
      await deps.smsCounters.setBreaker(
        appId,
        country,
        closedAt(window, counts, (breaker?.rev ?? 0) + 1),
        breaker?.rev ?? 0,
      )
    ) {
      if (wasPaused) {
        await recordAudit(deps, {
          appId,
          type: "sms.breaker_closed",
          outcome: "resumed",
          channel: "sms",
          target: country,
          actor,
        });
      }
      return;
    }
  }
  throw new DomainError("conflict", "The breaker kept changing; try again.");
}
