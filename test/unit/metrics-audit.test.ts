import { Metrics } from "@aws-lambda-powertools/metrics";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MetricsAudit } from "#adapters/metrics-audit";
import type { AuditEvent } from "#core/ports";
import { MemoryAudit } from "../support/deps.ts";

/** The embedded-metric-format lines Powertools printed, parsed. */
function captureEmf() {
  const lines: Record<string, unknown>[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => {
    for (const line of String(chunk).split("\n")) {
      if (line.includes('"_aws"')) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    return true;
  });
  return { lines, spy };
}

afterEach(() => {
  vi.restoreAllMocks();
});

const event = (fields: Partial<AuditEvent>): AuditEvent => ({
  appId: "app1",
  type: "challenge.sent",
  outcome: "sent",
  at: 0,
  ...fields,
});

describe("MetricsAudit", () => {
  it("publishes SmsBlocked as a total and by reason, and SmsBreakerOpened as a total and by country", async () => {
    const { lines } = captureEmf();
    const audit = new MetricsAudit(
      new MemoryAudit(),
      new Metrics({ namespace: "OtpService", serviceName: "otp-service" }),
    );
    await audit.record(event({ type: "sms.blocked", outcome: "ip_limit" }));
    await audit.record(event({ type: "sms.breaker_opened", outcome: "opened", target: "NG" }));
    await audit.record(event({ type: "sms.flagged", outcome: "ip_limit" }));
    const published = lines.map((l) => {
      const [directive] = (
        l._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }
      ).CloudWatchMetrics;
      return {
        metric: directive?.Metrics[0]?.Name,
        dimensions: directive?.Dimensions[0],
        reason: l.reason,
        country: l.country,
      };
    });
    expect(published).toEqual([
      { metric: "SmsBlocked", dimensions: ["service"], reason: undefined, country: undefined },
      { metric: "SmsBlocked", dimensions: ["service", "reason"], reason: "ip_limit", country: undefined },
      { metric: "SmsBreakerOpened", dimensions: ["service"], reason: undefined, country: undefined },
      { metric: "SmsBreakerOpened", dimensions: ["service", "country"], reason: undefined, country: "NG" },
    ]);
  });
});
