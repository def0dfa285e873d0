/**
 * One structured log line. `msg` says what happened; the rest are fields (route, status, code,
 * timing, ids). Never a body, a header or a secret: an `error` is logged with its name,
 * message and stack, and the errors that reach here are the service's own (their messages
 * name operations and codes, not input).
 */
export interface LogEntry {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  error?: unknown;
  [field: string]: unknown;
}

export type Log = (entry: LogEntry) => void;
