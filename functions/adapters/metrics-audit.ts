import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Audit, AuditEvent, AuditPage } from "#core/ports";

/**
 * Records audit events and turns the ones operators alarm on into CloudWatch metrics
 * (embedded metric format through Powertools): `DeliveryFailed` and `UserLocked`.
 */
export class MetricsAudit implements Audit {
  constructor(
    private readonly inner: Audit,
    private readonly metrics: Metrics,
  ) {}

  async record(event: AuditEvent): Promise<void> {
    await this.inner.record(event);
    const metric =
      event.type === "user.locked"
        ? "UserLocked"
        : event.type === "challenge.sent" && event.outcome === "delivery_failed"
          ? "DeliveryFailed"
          : undefined;
    if (metric) {
      this.metrics.addMetric(metric, MetricUnit.Count, 1);
      this.metrics.publishStoredMetrics();
    }
  }

  retract(event: AuditEvent & { id: string }): Promise<void> {
    return this.inner.retract(event);
  }

  list(appId: string, query: { userId?: string; limit: number; cursor?: string }): Promise<AuditPage> {
    return this.inner.list(appId, query);
  }
}
