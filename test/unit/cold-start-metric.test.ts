import { afterEach, describe, expect, it, vi } from "vitest";
import { cloudDeps } from "#http/cloud-deps";
import { allProviders } from "#http/cloud-providers";

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe("the ColdStart metric", () => {
  it("is published once as the dependencies are built (a process's first invocation), by function and instance", async () => {
    vi.stubEnv("OTP_TABLE_NAME", "otp-table");
    vi.stubEnv("OTP_SERVICE_SECRET_ID", "otp/service");
    vi.stubEnv("OTP_METRICS_INSTANCE", "prod-1");
    vi.stubEnv("AWS_LAMBDA_FUNCTION_NAME", "OtpService-prod-SendFunction-abc123");
    vi.stubEnv("AWS_REGION", "eu-west-1");
    // What Lambda sets for an on-demand execution environment (provisioned ones do not count as cold starts).
    vi.stubEnv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    const lines: Record<string, unknown>[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => {
      for (const line of String(chunk).split("\n")) {
        if (line.includes('"_aws"')) lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      return true;
    });
    await cloudDeps(allProviders);
    const coldStarts = lines.filter((l) =>
      (l._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics.some((d) =>
        d.Metrics.some((m) => m.Name === "ColdStart"),
      ),
    );
    expect(coldStarts).toHaveLength(1);
    const [line] = coldStarts as [Record<string, unknown>];
    const directive = (line._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] })
      .CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe("OtpService");
    expect([...(directive?.Dimensions[0] ?? [])].sort()).toEqual(["function_name", "instance", "service"]);
    expect(line).toMatchObject({
      ColdStart: 1,
      function_name: "OtpService-prod-SendFunction-abc123",
      instance: "prod-1",
      service: "otp-service",
    });
  });
});
