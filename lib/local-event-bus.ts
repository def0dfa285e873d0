import { type EventEntry, eventEntryOf } from "#adapters/audit-event-entries";
import type { AuditEvent, AuditEventBus } from "#core/ports";

/** An event as an EventBridge rule or target would receive it (the envelope's fields that matter here). */
export interface BusEvent {
  source: string;
  "detail-type": string;
  time: string;
  detail: Record<string, unknown>;
}

const KEEP = 1000;

/**
 * The local stack's stand-in for EventBridge: keeps the entries the cloud function would have
 * put (built by the same `eventEntryOf`), newest first, for `GET /dev/events`. Nothing is
 * routed anywhere: rules and targets are EventBridge's, not this service's.
 */
export class LocalEventBus implements AuditEventBus {
  private readonly entries: EventEntry[] = [];

  async publish(events: readonly AuditEvent[]): Promise<void> {
    for (const event of events) this.entries.unshift(eventEntryOf(event));
    this.entries.splice(KEEP);
  }

  list(): BusEvent[] {
    return this.entries.map((entry) => ({
      source: entry.Source,
      "detail-type": entry.DetailType,
      time: entry.Time.toISOString(),
      detail: JSON.parse(entry.Detail) as Record<string, unknown>,
    }));
  }
}
