import type { RecordedCall } from "./dynamo-recorder.ts";
import type { Sample } from "./operations.ts";
import { mean, mode } from "./stats.ts";

/**
 * Published prices, us-east-1, on-demand, without free tiers. Taken on the date below from
 * stored copies of the pages (this machine has no internet): check them before relying on
 * the totals.
 */
export const PRICES_TAKEN_ON = "2026-11-23";
export const PRICES = {
  lambdaRequest: {
    usd: 0.2 / 1e6,
    what: "AWS Lambda requests: $0.20 per 1M",
    source: "https://aws.amazon.com/lambda/pricing/",
  },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    what: "AWS Lambda duration, Arm (Graviton2), first 7.5 billion GB-s/month: $0.0000133334 per GB-s",
    source: "https://aws.amazon.com/lambda/pricing/",
  },
  httpApiRequest: {
    usd: 1.0 / 1e6,
    what: "API Gateway HTTP APIs, first 300M requests/month: $1.00 per 1M (metered per 512 KB)",
    source: "https://aws.amazon.com/api-gateway/pricing/",
  },
  dynamoWru: {
    usd: 0.625 / 1e6,
    what: "DynamoDB on-demand, Standard table class: $0.625 per 1M write request units (1 KB each)",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
  },
  dynamoRru: {
    usd: 0.125 / 1e6,
    what: "DynamoDB on-demand: $0.125 per 1M read request units (strongly consistent, 4 KB each)",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
  },
  secretsManagerCall: {
    usd: 0.05 / 10_000,
    what: "Secrets Manager: $0.05 per 10,000 API calls",
    source: "https://aws.amazon.com/secrets-manager/pricing/",
  },
  secretsManagerSecretMonth: {
    usd: 0.4,
    what: "Secrets Manager: $0.40 per secret per month (fixed, not per request)",
    source: "https://aws.amazon.com/secrets-manager/pricing/",
  },
  logsIngestGb: {
    usd: 0.5,
    what: "CloudWatch Logs ingestion, Standard class (Lambda logs: first tier): $0.50 per GB",
    source: "https://aws.amazon.com/cloudwatch/pricing/",
  },
  eventBridgeEvent: {
    usd: 1.0 / 1e6,
    what: "Amazon EventBridge custom events put on a bus: $1.00 per 1M (each 64 KB chunk of an entry is one event)",
    source: "https://aws.amazon.com/eventbridge/pricing/",
  },
  dataOutGb: {
    usd: 0.09,
    what: "Data transfer out to the internet, first 10 TB/month: $0.09 per GB",
    source: "https://aws.amazon.com/api-gateway/pricing/ (data transfer at EC2 rates)",
  },
  twilioVerify: {
    usd: 0.05,
    what: "Twilio Verify: $0.05 per successful verification, plus the channel's own fee (SMS, email)",
    source: "https://www.twilio.com/en-us/verify/pricing",
  },
} as const;

/** Assumptions for the amortized parts, stated in the report. */
export const TRAFFIC = {
  pairsPerMonth: 1_000_000,
  secondsPerMonth: 30 * 86_400,
  /** Warm execution environments kept busy by that traffic (~0.4 requests/s per function). */
  warmContainersPerFunction: 1,
  appCacheSeconds: 10,
  apiKeyCacheSeconds: 60,
  secretCacheSeconds: 300,
  /** Bytes CloudWatch Logs adds per log event when metering (PutLogEvents counts message + 26). */
  logEventOverheadBytes: 26,
} as const;

export interface CostLine {
  item: string;
  perPair: number;
  detail: string;
}

export interface OpUnits {
  rru: number;
  wru: number;
  /** WRU by item kind, to show what each kind of write costs. */
  wruByItem: Map<string, number>;
  commands: RecordedCall[];
  share: number;
}

/** Billed request units of one call: reads at least 1 (0.5 eventually consistent), writes at least 1. */
export function billedUnits(call: RecordedCall): number {
  const reported = call.capacityUnits;
  if (call.isWrite) return Math.max(1, reported ?? 1);
  return Math.max(call.consistent ? 1 : 0.5, reported ?? 0);
}

const signature = (s: Sample) =>
  s.calls
    .map((c) => `${c.command} ${c.item}`)
    .sort()
    .join(",");

/** The usual request of an operation (most common set of commands: caches warm) and its units. */
export function typicalUnits(samples: readonly Sample[]): OpUnits {
  const { value, share } = mode(samples, signature);
  const calls = value?.calls ?? [];
  const wruByItem = new Map<string, number>();
  let rru = 0;
  let wru = 0;
  for (const call of calls) {
    const units = billedUnits(call);
    if (call.isWrite) {
      wru += units;
      // A batch's units are split evenly over its items.
      const items = call.item.split("+");
      for (const item of items) wruByItem.set(item, (wruByItem.get(item) ?? 0) + units / items.length);
    } else rru += units;
  }
  return { rru, wru, wruByItem, commands: calls, share };
}

export interface LogSizes {
  /** The function's one JSON request line as Lambda's JSON log format wraps it (measured line, documented wrapper). */
  requestLineBytes: Record<"send" | "verify", number>;
  /** Lambda's platform.start + platform.report events per invocation (LoggingFormat.JSON, system log level INFO). */
  platformBytes: number;
  /** One API Gateway access log line in the stack's format. */
  accessLogBytes: number;
  perPairBytes: number;
}

/**
 * The log volume of one request. The service's own line is measured; Lambda's JSON-format
 * wrapper and platform events and the API access log line are built from their documented
 * shapes with representative values (the stack sets LoggingFormat.JSON and the access log format).
 * CloudWatch meters each event as its bytes plus 26.
 */
export function logSizes(sampleLines: { send: string; verify: string }): LogSizes {
  const time = "2026-11-23T20:17:00.123Z";
  const requestId = "0f3d2c1b-9a8e-4f7d-8c6b-5a4e3d2c1b0a";
  const event = (value: unknown) => Buffer.byteLength(JSON.stringify(value)) + TRAFFIC.logEventOverheadBytes;
  const line = (fn: "send" | "verify") =>
    event({ timestamp: time, level: "INFO", requestId, message: sampleLines[fn] });
  const platformBytes =
    event({ time, type: "platform.start", record: { requestId, version: "$LATEST" } }) +
    event({
      time,
      type: "platform.report",
      record: {
        requestId,
        metrics: { durationMs: 23.45, billedDurationMs: 24, memorySizeMB: 512, maxMemoryUsedMB: 98 },
        status: "success",
      },
    });
  const accessLogBytes = event({
    requestId: "Kx2bYgKoIAMEV-Q=",
    ip: "203.0.113.10",
    requestTime: "23/Nov/2026:20:17:00 +0000",
    httpMethod: "POST",
    routeKey: "POST /v1/verifications",
    status: "200",
    protocol: "HTTP/1.1",
    responseLength: "212",
    responseLatency: "25",
    integrationLatency: "23",
    integrationError: "-",
    iamUser: "-",
  });
  const requestLineBytes = { send: line("send"), verify: line("verify") };
  return {
    requestLineBytes,
    platformBytes,
    accessLogBytes,
    perPairBytes: requestLineBytes.send + requestLineBytes.verify + 2 * platformBytes + 2 * accessLogBytes,
  };
}

export interface Lever {
  lever: string;
  kind: "code" | "configuration" | "architecture";
  savesPerMillion: number;
}

export interface CostModel {
  lines: CostLine[];
  perPair: number;
  perMillionPairs: number;
  twilioPerMillion: number;
  fixedMonthly: CostLine[];
  send: OpUnits;
  verify: OpUnits;
  durationsMs: Record<"send" | "verify", number>;
  logs: LogSizes;
  /** What removing each part would save per million pairs. */
  levers: Lever[];
}

export function costModel(input: {
  send: readonly Sample[];
  verify: readonly Sample[];
  memoryMb: Record<"send" | "verify", number>;
  /** The service's request lines for the send and the verify. */
  sampleLogLines: { send: string; verify: string };
}): CostModel {
  const send = typicalUnits(input.send);
  const verify = typicalUnits(input.verify);
  // Lambda bills each invocation rounded up to the millisecond.
  const billedMs = (samples: readonly Sample[]) => mean(samples.map((s) => Math.ceil(s.ms)));
  const durationsMs = { send: billedMs(input.send), verify: billedMs(input.verify) };
  const gbSeconds =
    (input.memoryMb.send / 1024) * (durationsMs.send / 1000) +
    (input.memoryMb.verify / 1024) * (durationsMs.verify / 1000);
  const logs = logSizes(input.sampleLogLines);
  const logBytes = logs.perPairBytes;
  const responseBytes =
    mean(input.send.map((s) => s.responseBytes)) + mean(input.verify.map((s) => s.responseBytes));

  const pairs = TRAFFIC.pairsPerMonth;
  const containers = 2 * TRAFFIC.warmContainersPerFunction;
  const cacheReadsPerMonth =
    containers *
    (2 * (TRAFFIC.secondsPerMonth / TRAFFIC.appCacheSeconds) +
      TRAFFIC.secondsPerMonth / TRAFFIC.apiKeyCacheSeconds);
  // The service secret in both; the SMS provider's secret in send too.
  const secretCallsPerMonth =
    3 * TRAFFIC.warmContainersPerFunction * (TRAFFIC.secondsPerMonth / TRAFFIC.secretCacheSeconds);

  // Every audit event of the pair is also put on EventBridge (one small entry each).
  const auditEvents = [...send.commands, ...verify.commands].filter(
    (c) => c.command === "PutItem" && c.item === "AUDIT",
  ).length;
  const rru = send.rru + verify.rru;
  const wru = send.wru + verify.wru;
  const lines: CostLine[] = [
    {
      item: "API Gateway HTTP API requests",
      perPair: 2 * PRICES.httpApiRequest.usd,
      detail: "2 requests (send, verify)",
    },
    { item: "Lambda requests", perPair: 2 * PRICES.lambdaRequest.usd, detail: "2 invocations" },
    {
      item: "Lambda duration (arm64)",
      perPair: gbSeconds * PRICES.lambdaArmGbSecond.usd,
      detail: `${durationsMs.send.toFixed(1)} ms × ${input.memoryMb.send} MB + ${durationsMs.verify.toFixed(1)} ms × ${input.memoryMb.verify} MB (measured here, billed per ms)`,
    },
    {
      item: "DynamoDB writes",
      perPair: wru * PRICES.dynamoWru.usd,
      detail: `${wru} WRU (send ${send.wru}, verify ${verify.wru})`,
    },
    {
      item: "DynamoDB reads",
      perPair: rru * PRICES.dynamoRru.usd,
      detail: `${rru} RRU (send ${send.rru}, verify ${verify.rru}), strongly consistent`,
    },
    {
      item: "DynamoDB cache refresh reads (amortized)",
      perPair: (cacheReadsPerMonth * PRICES.dynamoRru.usd) / pairs,
      detail: `app + config every ${TRAFFIC.appCacheSeconds} s, API key every ${TRAFFIC.apiKeyCacheSeconds} s, in ${containers} warm environments: ${Math.round(cacheReadsPerMonth).toLocaleString("en-US")} RRU/month`,
    },
    {
      item: "Secrets Manager GetSecretValue (amortized)",
      perPair: (secretCallsPerMonth * PRICES.secretsManagerCall.usd) / pairs,
      detail: `one read per secret per ${TRAFFIC.secretCacheSeconds / 60} min per warm environment: ${Math.round(secretCallsPerMonth).toLocaleString("en-US")} calls/month`,
    },
    {
      item: "CloudWatch Logs ingestion",
      perPair: (logBytes / 1e9) * PRICES.logsIngestGb.usd,
      detail: `${logBytes} B/pair: request lines ${logs.requestLineBytes.send} + ${logs.requestLineBytes.verify} B, Lambda platform start/report 2 × ${logs.platformBytes} B, API access log 2 × ${logs.accessLogBytes} B`,
    },
    {
      item: "EventBridge audit events",
      perPair: auditEvents * PRICES.eventBridgeEvent.usd,
      detail: `${auditEvents} events (the pair's audit events: challenge.sent, verification.approved)`,
    },
    {
      item: "Data transfer out",
      perPair: (responseBytes / 1e9) * PRICES.dataOutGb.usd,
      detail: `${Math.round(responseBytes)} B of responses (body + headers)`,
    },
  ];
  const perPair = lines.reduce((sum, l) => sum + l.perPair, 0);
  const wruOf = (item: string) => (send.wruByItem.get(item) ?? 0) + (verify.wruByItem.get(item) ?? 0);
  const sendReadsState = send.commands.some((c) => c.command === "Query" && c.item === "USER*");
  const rereads = sendReadsState
    ? send.commands
        .filter((c) => c.command === "GetItem" && c.item === "STATE")
        .reduce((n, c) => n + billedUnits(c), 0)
    : 0;
  const levers: Lever[] = [
    {
      lever: "no audit item on the success path (the request log line already records the outcome)",
      kind: "code",
      savesPerMillion: wruOf("AUDIT") * PRICES.dynamoWru.usd * 1e6,
    },
    {
      lever: "no per-user session reference item (ZSESSION) written with each session",
      kind: "code",
      savesPerMillion: wruOf("ZSESSION") * PRICES.dynamoWru.usd * 1e6,
    },
    {
      lever: "send: reuse the user's state from the Query instead of reading it again (GetItem STATE)",
      kind: "code",
      savesPerMillion: rereads * PRICES.dynamoRru.usd * 1e6,
    },
    {
      lever: "Lambda systemLogLevel WARN (no platform.start/report lines)",
      kind: "configuration",
      savesPerMillion: ((2 * logs.platformBytes) / 1e9) * PRICES.logsIngestGb.usd * 1e6,
    },
    {
      lever: "no API Gateway access log (or the Infrequent Access log class, about half)",
      kind: "configuration",
      savesPerMillion: ((2 * logs.accessLogBytes) / 1e9) * PRICES.logsIngestGb.usd * 1e6,
    },
    {
      lever: "Lambda function URLs (IAM auth for admin) instead of API Gateway",
      kind: "architecture",
      savesPerMillion: 2 * PRICES.httpApiRequest.usd * 1e6,
    },
  ].filter((l) => l.savesPerMillion > 0) as Lever[];
  return {
    lines,
    perPair,
    perMillionPairs: perPair * 1e6,
    twilioPerMillion: PRICES.twilioVerify.usd * 1e6,
    fixedMonthly: [
      {
        item: "Secrets Manager secrets",
        perPair: 3 * PRICES.secretsManagerSecretMonth.usd,
        detail: "3 secrets (service, twilio, sinch) × $0.40/month, whatever the traffic",
      },
    ],
    send,
    verify,
    durationsMs,
    logs,
    levers,
  };
}
