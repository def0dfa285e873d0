import type { AuditEvent } from "#core/ports";

/** EventBridge's `source` for every event of the service (API.md). */
export const EVENT_SOURCE = "otp-service";

/** One event as it goes on the bus: a PutEvents entry, without the bus name. */
export interface EventEntry {
  Source: string;
  /** The audit event's type: `verification.approved`, `user.locked`, ... */
  DetailType: string;
  /** JSON of the audit event: ids, masked destination, outcome; never a code, key or secret. */
  Detail: string;
  Time: Date;
}

/**
 * The audit event as a bus event. The trail's own fields, unchanged: what an operator reads in
 * `GET /audit` is what a SIEM rule matches on (`detail.appId`, `detail.userId`, `detail.outcome`).
 */
export function eventEntryOf(event: AuditEvent): EventEntry {
  const { id: _id, at, ...fields } = event;
  return {
    Source: EVENT_SOURCE,
    DetailType: event.type,
    Detail: JSON.stringify({ ...fields, at: new Date(at).toISOString() }),
    Time: new Date(at),
  };
}
