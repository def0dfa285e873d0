import type { LogEntry } from "#http/log";

const LEVELS = { debug: "DEBUG", info: "INFO ", warn: "WARN ", error: "ERROR" } as const;

const time = (at: Date): string => at.toISOString().slice(11, 23);

const errorText = (error: unknown, withStack: boolean): string => {
  if (!(error instanceof Error)) return error === undefined ? "" : ` error=${JSON.stringify(error)}`;
  const head = ` ${error.name}: ${error.message}`;
  return withStack && error.stack ? `${head}\n${error.stack.split("\n").slice(1).join("\n")}` : head;
};

/**
 * The cloud's log lines (the same entries the Lambdas hand to Powertools Logger), one readable
 * line each: `12:00:01.123 INFO  send POST /v1/challenges 201 12ms`, then the code, the
 * fault's class and operation, and for an ERROR the stack.
 */
export function readableLine(entry: LogEntry, at = new Date()): string {
  const { level, msg, error, fn, route, status, ms, code, requestId: _id, ...rest } = entry;
  const head = `${time(at)} ${LEVELS[level]}`;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  const body =
    msg === "request"
      ? [fn, route, status, ms === undefined ? undefined : `${ms}ms`, code]
          .filter((x) => x !== undefined)
          .join(" ")
      : [msg, fn].filter((x) => x !== undefined).join(" ");
  return `${head} ${body}${fields ? ` ${fields}` : ""}${errorText(error, level === "error")}`;
}
