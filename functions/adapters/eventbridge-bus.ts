import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { AuditEvent, AuditEventBus } from "#core/ports";
import { eventEntryOf } from "./audit-event-entries.ts";

/** PutEvents takes at most 10 entries per call. */
const BATCH = 10;

export interface EventBridgeBusSettings {
  /** `default`, or the name or ARN of another bus. */
  eventBusName: string;
  /** Called with how many events did not reach the bus and why (an error name or EventBridge's error code). */
  onFailed: (count: number, reason: string) => void;
}

/** Puts audit events on an EventBridge bus, up to 10 per call; never throws. */
export class EventBridgeBus implements AuditEventBus {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly settings: EventBridgeBusSettings,
  ) {}

  async publish(events: readonly AuditEvent[]): Promise<void> {
    const batches: AuditEvent[][] = [];
    for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));
    await Promise.all(batches.map((batch) => this.put(batch)));
  }

  private async put(batch: AuditEvent[]): Promise<void> {
    try {
      const answer = await this.client.send(
        new PutEventsCommand({
          Entries: batch.map((event) => ({
            ...eventEntryOf(event),
            EventBusName: this.settings.eventBusName,
          })),
        }),
      );
      const failed = answer.FailedEntryCount ?? 0;
      if (failed > 0) {
        const codes = new Set((answer.Entries ?? []).flatMap((e) => (e.ErrorCode ? [e.ErrorCode] : [])));
        this.settings.onFailed(failed, [...codes].join(",") || "unknown");
      }
    } catch (error) {
      this.settings.onFailed(batch.length, error instanceof Error ? error.name : "Error");
    }
  }
}
