import type { Command } from "commander";
import type { AdminApi } from "../admin-api.ts";
import type { AuditEvent } from "../admin-types.ts";
import type { ContextOf } from "../context.ts";
import { ApiError, CliError, UnreachableError } from "../errors.ts";

const PAGE = 100;

interface AuditOptions {
  user?: string;
  type: string[];
  limit: string;
  follow?: boolean;
  interval: string;
}

/** `--type challenge.sent`, or a family with a trailing `*` (`sms.*`); none given: every type. */
export function typeFilter(types: readonly string[]): (event: AuditEvent) => boolean {
  if (types.length === 0) return () => true;
  return (event) =>
    types.some((t) => (t.endsWith("*") ? event.type.startsWith(t.slice(0, -1)) : event.type === t));
}

/** Newest first, as the route pages them: up to `limit` events that pass `keep` (if given). */
export async function readAudit(
  api: AdminApi,
  appId: string,
  query: { userId?: string; limit: number; keep?: (event: AuditEvent) => boolean },
): Promise<AuditEvent[]> {
  const keep = query.keep ?? (() => true);
  const found: AuditEvent[] = [];
  let cursor: string | undefined;
  do {
    // The route has no type filter: with one, how many of a page pass is unknown, so every
    // request asks for a full page (asking for what is left of --limit would mean many tiny ones).
    const size = query.keep ? PAGE : Math.min(PAGE, query.limit - found.length);
    const page = await api.audit(appId, { userId: query.userId, limit: size, cursor });
    found.push(...page.events.filter(keep));
    cursor = page.nextCursor ?? undefined;
  } while (cursor && found.length < query.limit);
  return found.slice(0, query.limit);
}

// The audit route names no event id: two events at one millisecond are told apart by content.
const identity = (event: AuditEvent): string => JSON.stringify(event);

/**
 * The events recorded since the last call, oldest first: reads from the newest back to the
 * last one already seen (events at the same millisecond are told apart by content).
 */
export function auditFollower(api: AdminApi, appId: string, userId: string | undefined) {
  let lastAt = "";
  let atLast = new Set<string>();
  const remember = (events: AuditEvent[]) => {
    for (const event of events) {
      if (event.at > lastAt) {
        lastAt = event.at;
        atLast = new Set();
      }
      if (event.at === lastAt) atLast.add(identity(event));
    }
  };
  return {
    remember,
    async next(): Promise<AuditEvent[]> {
      const fresh: AuditEvent[] = [];
      let cursor: string | undefined;
      scan: do {
        const page = await api.audit(appId, { userId, limit: PAGE, cursor });
        for (const event of page.events) {
          if (event.at < lastAt) break scan;
          if (event.at === lastAt && atLast.has(identity(event))) continue;
          fresh.push(event);
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const oldestFirst = fresh.reverse();
      remember(oldestFirst);
      return oldestFirst;
    },
  };
}

export function auditLine(event: AuditEvent): string {
  const fields = (["userId", "channel", "destination", "outcome", "target", "actor", "ip"] as const)
    .filter((key) => event[key] !== undefined && event[key] !== null)
    .map((key) => `${key === "userId" ? "user" : key}=${event[key]}`);
  return [event.at, event.type.padEnd(24), ...fields].join("  ").trimEnd();
}

const sleep = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

const positive = (text: string, name: string, max: number): number => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > max)
    throw new CliError(`${name} must be a number from 1 to ${max}`);
  return n;
};

export function registerAudit(program: Command, contextOf: ContextOf): void {
  program
    .command("audit")
    .description("an app's audit events (oldest first, the newest last), optionally filtered and followed")
    .argument("<appId>", "an app id (or _service for provider-secret changes)")
    .option("--user <userId>", "only this user's events")
    .option(
      "--type <type>",
      "only this event type, e.g. verification.denied, or a family: sms.* (repeatable)",
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option("--limit <n>", "at most this many events", "50")
    .option("--follow", "keep printing new events as they happen (Ctrl-C stops)")
    .option("--interval <seconds>", "how often --follow polls", "2")
    .action(async (appId: string, options: AuditOptions, command: Command) => {
      const { api, out, io } = contextOf(command);
      const client = await api();
      const limit = Math.floor(positive(options.limit, "--limit", 100_000));
      const interval = positive(options.interval, "--interval", 3600);
      const keep = typeFilter(options.type);
      const follower = auditFollower(client, appId, options.user);
      // --follow goes on after the newest event of any type, not only after the newest one shown.
      if (options.follow)
        follower.remember((await client.audit(appId, { userId: options.user, limit: PAGE })).events);
      const recent = await readAudit(client, appId, {
        userId: options.user,
        limit,
        keep: options.type.length > 0 ? keep : undefined,
      });
      const print = (events: AuditEvent[]) => {
        for (const event of events) out.line(out.json ? JSON.stringify(event) : auditLine(event));
      };
      if (!options.follow) {
        out.result({ events: recent }, () =>
          recent.length === 0 ? "No matching events." : [...recent].reverse().map(auditLine),
        );
        return;
      }
      print([...recent].reverse());
      follower.remember(recent);
      if (!out.json) out.note(`Following ${appId}'s audit events; Ctrl-C stops.`);
      while (!io.signal?.aborted) {
        await sleep(interval * 1000, io.signal);
        if (io.signal?.aborted) break;
        try {
          print((await follower.next()).filter(keep));
        } catch (error) {
          // A dropped connection or a 5xx while following is a blip: say so and poll again.
          const transient =
            error instanceof UnreachableError || (error instanceof ApiError && error.problem.status >= 500);
          if (!transient) throw error;
          out.note(`(${error.message}; trying again)`);
        }
      }
    });
}
