import type { Audit, AuditEvent, AuditPage } from "#core/ports";

/**
 * One request's view of the audit trail: records through to it and remembers what this
 * request recorded, minus what it took back (an approval whose write was refused), so
 * only what really happened is published once the request is decided.
 */
export class CollectingAudit implements Audit {
  private readonly recorded: AuditEvent[] = [];

  constructor(private readonly inner: Audit) {}

  async record(event: AuditEvent): Promise<void> {
    this.recorded.push(event);
    await this.inner.record(event);
  }

  async retract(event: AuditEvent & { id: string }): Promise<void> {
    const index = this.recorded.findIndex((e) => e.id === event.id && e.appId === event.appId);
    if (index >= 0) this.recorded.splice(index, 1);
    await this.inner.retract(event);
  }

  list(appId: string, query: { userId?: string; limit: number; cursor?: string }): Promise<AuditPage> {
    return this.inner.list(appId, query);
  }

  events(): readonly AuditEvent[] {
    return this.recorded;
  }
}
