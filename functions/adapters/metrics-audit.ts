import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Audit, AuditEvent, AuditPage } from "#core/ports";

/**
 * Records audit events and turns the ones operators alarm on or chart into CloudWatch metrics
 * (embedded metric format through Powertools): `DeliveryFailed`, `UserLocked`, SMS protection's
 * `SmsBlocked` and `SmsBreakerOpened`, and the dashboard's `CodeSent` (by channel),
 * `VerificationApproved` (by method) and `VerificationDenied` (by reason). Those with a dimension are
 * published twice: a total (what the alarms watch) and one per reason, country, channel or method
 * (what the dashboard breaks down). An approval a concurrent request refused is retracted from the
 * audit log but stays counted: rare, and the metric is for trends.
 */
export class MetricsAudit implements Audit {
  constructor(
    private readonly inner: Audit,
    private readonly metrics: Metrics,
  ) {}

  async record(event: AuditEvent): Promise<void> {
    await this.inner.record(event);
    const metric = metricOf(event);
    if (!metric) return;
    this.metrics.addMetric(metric.name, MetricUnit.Count, 1);
    this.metrics.publishStoredMetrics();
    if (metric.dimension) {
      const [name, value] = metric.dimension;
      const single = this.metrics.singleMetric();
      single.addDimension(name, value);
      single.addMetric(metric.name, MetricUnit.Count, 1);
    }
  }

  retract(event: AuditEvent & { id: string }): Promise<void> {
    return this.inner.retract(event);
  }

  list(appId: string, query: { userId?: string; limit: number; cursor?: string }): Promise<AuditPage> {
    return this.inner.list(appId, query);
  }
}

function metricOf(event: AuditEvent): { name: string; dimension?: [string, string] } | undefined {
  if (event.type === "user.locked") return { name: "UserLocked" };
  if (event.type === "challenge.sent" && event.outcome === "delivery_failed")
    return { name: "DeliveryFailed" };
  if (event.type === "challenge.sent" && event.outcome === "sent")
    return { name: "CodeSent", dimension: ["channel", event.channel ?? "unknown"] };
  if (event.type === "verification.approved")
    return { name: "VerificationApproved", dimension: ["method", event.channel ?? "unknown"] };
  // A denial is recorded before the method is known (a wrong challenge id has none): by its reason.
  if (event.type === "verification.denied")
    return { name: "VerificationDenied", dimension: ["reason", event.outcome] };
  if (event.type === "sms.blocked") return { name: "SmsBlocked", dimension: ["reason", event.outcome] };
  if (event.type === "sms.breaker_opened") {
    return { name: "SmsBreakerOpened", dimension: ["country", event.target ?? "ZZ"] };
  }
  return undefined;
}
