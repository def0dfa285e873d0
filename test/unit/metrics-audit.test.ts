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

describe("MetricsAudit, the dashboard's counts", () => {
  /** Each published metric as `name dim=value,...` over the dimensions its directive names. */
  async function published(events: Partial<AuditEvent>[], instance?: string): Promise<string[]> {
    const { lines } = captureEmf();
    const audit = new MetricsAudit(
      new MemoryAudit(),
      new Metrics({
        namespace: "OtpService",
        serviceName: "otp-service",
        ...(instance ? { defaultDimensions: { instance } } : {}),
      }),
    );
    for (const fields of events) await audit.record(event(fields));
    return lines.map((l) => {
      const [directive] = (
        l._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }
      ).CloudWatchMetrics;
      const dims = (directive?.Dimensions[0] ?? []).map((d) => `${d}=${String(l[d])}`).sort();
      return `${directive?.Metrics[0]?.Name} ${dims.join(",")}`;
    });
  }

  it("counts codes sent, in total and by channel, under the instance's dimensions", async () => {
    expect(
      await published(
        [
          { type: "challenge.sent", outcome: "sent", channel: "sms" },
          { type: "challenge.sent", outcome: "sent", channel: "email" },
        ],
        "prod-1",
      ),
    ).toEqual([
      "CodeSent instance=prod-1,service=otp-service",
      "CodeSent channel=sms,instance=prod-1,service=otp-service",
      "CodeSent instance=prod-1,service=otp-service",
      "CodeSent channel=email,instance=prod-1,service=otp-service",
    ]);
  });

  it("counts a code that was not sent as DeliveryFailed or not at all, never as CodeSent", async () => {
    expect(
      await published([
        { type: "challenge.sent", outcome: "delivery_failed", channel: "sms" },
        { type: "challenge.sent", outcome: "no_factor", channel: "sms" },
        { type: "challenge.fallback", outcome: "sent", channel: "email" },
      ]),
    ).toEqual(["DeliveryFailed service=otp-service"]);
  });

  it("counts approvals by method and denials by reason", async () => {
    expect(
      await published([
        { type: "verification.approved", outcome: "approved", channel: "totp" },
        { type: "verification.denied", outcome: "wrong_code" },
        { type: "user.locked", outcome: "locked" },
      ]),
    ).toEqual([
      "VerificationApproved service=otp-service",
      "VerificationApproved method=totp,service=otp-service",
      "VerificationDenied service=otp-service",
      "VerificationDenied reason=wrong_code,service=otp-service",
      "UserLocked service=otp-service",
    ]);
  });
});
