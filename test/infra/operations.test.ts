import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { EventBus } from "aws-cdk-lib/aws-events";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { keys } from "#adapters/dynamodb-items";
import { ITEM_FAMILIES, OtpService, type OtpServiceProps } from "#lib/otp-service";
import { OtpServiceStack } from "#lib/otp-service-stack";
import { type FunctionName, routes } from "#lib/routes";

type Resource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };
type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
};

const FUNCTION_NAMES: FunctionName[] = ["send", "verify", "enroll", "admin-config"];
const READS = ["dynamodb:GetItem", "dynamodb:Query"];
const WRITES = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"];

/** The prebuilt code is checked in otp-service-stack.test.ts; here it is referenced in place. */
const newApp = () => new App({ context: { "aws:cdk:disable-asset-staging": true } });

interface Synth {
  stack: Stack;
  service: OtpService;
  template: Template;
  resources: Record<string, Resource>;
}

function synth(props: OtpServiceProps, build?: (stack: Stack) => Partial<OtpServiceProps>): Synth {
  const stack = new Stack(newApp(), "Ops");
  const service = new OtpService(stack, "Otp", { ...props, ...build?.(stack) });
  const template = Template.fromStack(stack);
  return { stack, service, template, resources: template.toJSON().Resources as Record<string, Resource> };
}

const refId = (value: unknown): string | undefined => {
  const v = value as { Ref?: string; "Fn::GetAtt"?: [string, string] };
  return v?.Ref ?? v?.["Fn::GetAtt"]?.[0];
};
const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const logicalId = (s: Synth, c: { node: { defaultChild?: unknown } }) =>
  s.stack.getLogicalId(c.node.defaultChild as never);

function propsOf(s: Synth, fn: FunctionName): Record<string, unknown> {
  const resource = s.resources[logicalId(s, s.service.functions[fn])];
  if (!resource) throw new Error(`no ${fn} function in the template`);
  return resource.Properties;
}
const envOf = (s: Synth, fn: FunctionName) =>
  (propsOf(s, fn).Environment as { Variables: Record<string, unknown> }).Variables;

/** Every statement of the role a function runs as (inline and attached policies). */
function statementsOf(s: Synth, fn: FunctionName): Statement[] {
  const props = s.resources[logicalId(s, s.service.functions[fn])]?.Properties ?? {};
  const roleId = refId(props.Role);
  const role = s.resources[roleId as string] as Resource;
  const inline = (
    (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]
  ).flatMap((p) => p.PolicyDocument.Statement);
  const attached = Object.values(s.resources)
    .filter((r) => r.Type === "AWS::IAM::Policy")
    .filter((p) => (p.Properties.Roles as unknown[]).some((r) => refId(r) === roleId))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  return [...inline, ...attached];
}

/** IAM's StringLike: `*` any run of characters, `?` one character, the rest literal. */
const stringLike = (pattern: string, value: string): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  ).test(value);

/**
 * Whether any statement of the function allows `action` on an item with partition key `pk`
 * of the table: IAM's evaluation for Allow statements with a `dynamodb:LeadingKeys` condition
 * (ForAllValues:StringLike; the only condition these statements may carry).
 */
function allows(s: Synth, fn: FunctionName, action: string, pk: string): boolean {
  const table = logicalId(s, s.service.table);
  return statementsOf(s, fn).some((st) => {
    if (st.Effect !== "Allow" || !list(st.Action).includes(action)) return false;
    if (!list(st.Resource).some((r) => refId(r) === table)) return false;
    const conditions = Object.entries(st.Condition ?? {});
    return conditions.every(([operator, condition]) => {
      expect(operator).toBe("ForAllValues:StringLike");
      expect(Object.keys(condition)).toEqual(["dynamodb:LeadingKeys"]);
      return list(condition["dynamodb:LeadingKeys"]).some((p) => stringLike(p, pk));
    });
  });
}

/** The LeadingKeys patterns a function may use `actions` on (every action of the list must agree). */
function familiesOf(s: Synth, fn: FunctionName, actions: string[]): string[] {
  const table = logicalId(s, s.service.table);
  const perAction = actions.map((action) =>
    statementsOf(s, fn)
      .filter((st) => list(st.Action).includes(action) && list(st.Resource).some((r) => refId(r) === table))
      .flatMap((st) => list(st.Condition?.["ForAllValues:StringLike"]?.["dynamodb:LeadingKeys"]))
      .sort(),
  );
  for (const families of perAction) expect(families).toEqual(perAction[0]);
  return perAction[0] ?? [];
}

let defaults: Synth;
beforeAll(() => {
  defaults = synth({ stage: "dev" });
}, 120_000);

describe("table access by item family (dynamodb:LeadingKeys)", () => {
  it("conditions every DynamoDB statement on the partition key, and grants no table-wide action", () => {
    for (const fn of FUNCTION_NAMES) {
      const dynamo = statementsOf(defaults, fn).filter((st) =>
        list(st.Action).some((a) => a.startsWith("dynamodb:")),
      );
      expect(dynamo.length, fn).toBeGreaterThan(0);
      for (const st of dynamo) {
        expect(Object.keys(st.Condition ?? {}), fn).toEqual(["ForAllValues:StringLike"]);
        expect(
          list(st.Action).every((a) => [...READS, ...WRITES].includes(a)),
          fn,
        ).toBe(true);
        // reads and writes never share a statement, so each has its own families
        const actions = list(st.Action);
        expect(actions.every((a) => READS.includes(a)) || actions.every((a) => WRITES.includes(a)), fn).toBe(
          true,
        );
      }
    }
  });

  it("gives each function exactly the families it touches, reads apart from writes", () => {
    const expected: Record<FunctionName, { read: string[]; write: string[] }> = {
      send: {
        read: ["APP#*", "IDEM#*", "KEY#*", "SMS#*", "USER#*"],
        write: ["AUDIT#*", "IDEM#*", "SMS#*", "USER#*"],
      },
      verify: { read: ["APP#*", "KEY#*", "USER#*"], write: ["AUDIT#*", "SMS#*", "USER#*"] },
      enroll: { read: ["APP#*", "KEY#*", "SMS#*", "USER#*"], write: ["AUDIT#*", "SMS#*", "USER#*"] },
      "admin-config": {
        read: ["APP#*", "APPS", "AUDIT#*", "SMS#*", "USER#*"],
        write: ["APP#*", "APPS", "AUDIT#*", "KEY#*", "SMS#*", "USER#*"],
      },
    };
    for (const fn of FUNCTION_NAMES) {
      expect({ read: familiesOf(defaults, fn, READS), write: familiesOf(defaults, fn, WRITES) }, fn).toEqual(
        expected[fn],
      );
    }
  });

  it.each(["send", "verify", "enroll"] as const)(
    "%s cannot put, update or delete an app, its config, an API key or the app list",
    (fn) => {
      const configItems = [keys.app("a1").pk, keys.config("a1").pk, keys.appKey("a1", "k1").pk];
      for (const pk of [...configItems, keys.apiKey("abc").pk, keys.appIndex("a1").pk]) {
        for (const action of WRITES)
          expect(allows(defaults, fn, action, pk), `${fn} ${action} ${pk}`).toBe(false);
      }
      // ...while it still reads the app, its config and the API key a client authenticates with
      expect(allows(defaults, fn, "dynamodb:GetItem", keys.config("a1").pk)).toBe(true);
      expect(allows(defaults, fn, "dynamodb:GetItem", keys.apiKey("abc").pk)).toBe(true);
    },
  );

  it("lets admin-config alone write apps, configs, API keys and the app list", () => {
    for (const pk of [keys.config("a1").pk, keys.apiKey("abc").pk, keys.appIndex("a1").pk]) {
      for (const action of WRITES)
        expect(allows(defaults, "admin-config", action, pk), `${action} ${pk}`).toBe(true);
    }
  });

  it("covers every key shape of the table with exactly one family, granted to some function", () => {
    // Every builder in `keys`, with placeholder ids: a new family there fails here until it is granted.
    const builders = Object.entries(keys) as [string, (...args: never[]) => string | { pk: string }][];
    expect(builders.length).toBeGreaterThanOrEqual(10);
    const patterns = Object.values(ITEM_FAMILIES);
    for (const [name, build] of builders) {
      const built = (build as (...args: unknown[]) => string | { pk: string })("app-1", "user-1", "x-1");
      const pk = typeof built === "string" ? built : built.pk;
      expect(
        patterns.filter((p) => stringLike(p, pk)),
        `${name}: ${pk}`,
      ).toHaveLength(1);
      expect(
        FUNCTION_NAMES.some((fn) => [...READS, ...WRITES].some((a) => allows(defaults, fn, a, pk))),
        `${name}: ${pk}`,
      ).toBe(true);
    }
  });
});

describe("reserved concurrency", () => {
  const reservedOf = (s: Synth) =>
    Object.fromEntries(
      FUNCTION_NAMES.map((fn) => [
        fn,
        s.resources[logicalId(s, s.service.functions[fn])]?.Properties.ReservedConcurrentExecutions,
      ]),
    );

  it("reserves per function by default, leaving >= 100 of the default 1,000 unreserved with two instances", () => {
    const reserved = reservedOf(defaults);
    expect(reserved).toEqual({ send: 150, verify: 150, enroll: 50, "admin-config": 20 });
    const perInstance = Object.values(reserved).reduce((sum: number, n) => sum + Number(n), 0);
    expect(1_000 - 2 * perInstance).toBeGreaterThanOrEqual(100);
  });

  it("takes one number for every function, a record for some, and 0 for no reservation", () => {
    expect(reservedOf(synth({ stage: "dev", reservedConcurrency: 30 }))).toEqual({
      send: 30,
      verify: 30,
      enroll: 30,
      "admin-config": 30,
    });
    expect(reservedOf(synth({ stage: "dev", reservedConcurrency: { send: 300, enroll: 0 } }))).toEqual({
      send: 300,
      verify: 150,
      enroll: undefined,
      "admin-config": 20,
    });
    expect(reservedOf(synth({ stage: "dev", reservedConcurrency: 0 }))).toEqual({
      send: undefined,
      verify: undefined,
      enroll: undefined,
      "admin-config": undefined,
    });
  });

  it("passes -c reservedConcurrency through the stack", () => {
    const stack = new OtpServiceStack(newApp(), "OtpService-x", { stage: "x", reservedConcurrency: 0 });
    const functions = Object.values(
      Template.fromStack(stack).toJSON().Resources as Record<string, Resource>,
    ).filter((r) => r.Type === "AWS::Lambda::Function");
    expect(functions).toHaveLength(4);
    for (const fn of functions) expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it("keeps each function's timeout under API Gateway's 30 s and above two provider steps of 5 s for send", () => {
    const timeoutOf = (fn: FunctionName) =>
      Number(defaults.resources[logicalId(defaults, defaults.service.functions[fn])]?.Properties.Timeout);
    for (const fn of FUNCTION_NAMES) expect(timeoutOf(fn)).toBeLessThan(30);
    expect(timeoutOf("send")).toBeGreaterThan(2 * 5);
  });
});

describe("audit events to EventBridge", () => {
  const putEventsOf = (s: Synth, fn: FunctionName) =>
    statementsOf(s, fn)
      .filter((st) => list(st.Action).some((a) => a.startsWith("events:")))
      .map((st) => ({ actions: list(st.Action), resources: list(st.Resource) }));

  it.each(FUNCTION_NAMES)("lets %s put events on the default bus of its account and region only", (fn) => {
    expect(putEventsOf(defaults, fn)).toEqual([
      {
        actions: ["events:PutEvents"],
        resources: [
          {
            "Fn::Join": [
              "",
              [
                "arn:",
                { Ref: "AWS::Partition" },
                ":events:",
                { Ref: "AWS::Region" },
                ":",
                { Ref: "AWS::AccountId" },
                ":event-bus/default",
              ],
            ],
          },
        ],
      },
    ]);
    expect(envOf(defaults, fn).OTP_EVENT_BUS_NAME).toBe("default");
  });

  it("uses the bus given instead, for the grant and OTP_EVENT_BUS_NAME", () => {
    const s = synth({ stage: "dev" }, (stack) => ({ eventBus: new EventBus(stack, "Bus") }));
    const busId = Object.entries(s.resources).find(([, r]) => r.Type === "AWS::Events::EventBus")?.[0];
    for (const fn of FUNCTION_NAMES) {
      const grants = putEventsOf(s, fn);
      expect(grants).toHaveLength(1);
      expect(grants[0]?.resources.map(refId)).toEqual([busId]);
      expect(refId(envOf(s, fn).OTP_EVENT_BUS_NAME)).toBe(busId);
    }
  });
});

describe("tracing", () => {
  it("is off by default: no active tracing, no X-Ray grant, no tracing environment", () => {
    for (const fn of FUNCTION_NAMES) {
      const props = defaults.resources[logicalId(defaults, defaults.service.functions[fn])]?.Properties ?? {};
      expect(
        props.TracingConfig === undefined || (props.TracingConfig as { Mode: string }).Mode === "PassThrough",
      ).toBe(true);
      expect(
        statementsOf(defaults, fn)
          .flatMap((st) => list(st.Action))
          .filter((a) => a.startsWith("xray:")),
      ).toEqual([]);
      expect(envOf(defaults, fn).OTP_TRACING).toBeUndefined();
    }
  });

  it("with `tracing: true`, traces actively, may write to X-Ray, and tells the code to load the tracer", () => {
    const s = synth({ stage: "dev", tracing: true });
    for (const fn of FUNCTION_NAMES) {
      const props = s.resources[logicalId(s, s.service.functions[fn])]?.Properties ?? {};
      expect(props.TracingConfig).toEqual({ Mode: "Active" });
      expect(statementsOf(s, fn).flatMap((st) => list(st.Action))).toEqual(
        expect.arrayContaining(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]),
      );
      expect(envOf(s, fn)).toMatchObject({ OTP_TRACING: "1", POWERTOOLS_TRACE_ENABLED: "true" });
    }
    const report = new AwsSolutionsChecks().validateScope(s.stack);
    expect(
      report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
  });

  it("turns on from the stack prop (-c tracing=true)", () => {
    const stack = new OtpServiceStack(newApp(), "OtpService-t", { stage: "t", tracing: true });
    const functions = Object.values(
      Template.fromStack(stack).toJSON().Resources as Record<string, Resource>,
    ).filter((r) => r.Type === "AWS::Lambda::Function");
    for (const fn of functions) expect(fn.Properties.TracingConfig).toEqual({ Mode: "Active" });
  });
});

describe("alarms", () => {
  type AlarmProps = Record<string, unknown> & {
    Metrics?: {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string }; Stat: string };
    }[];
  };
  const alarms = (s: Synth) =>
    Object.values(s.resources)
      .filter((r) => r.Type === "AWS::CloudWatch::Alarm")
      .map((r) => r.Properties as AlarmProps);
  const custom = (s: Synth, metric: string) =>
    alarms(s).filter((a) => a.Namespace === "OtpService" && a.MetricName === metric);
  const functionDimension = (s: Synth, fn: FunctionName) => [
    { Name: "FunctionName", Value: { Ref: logicalId(s, s.service.functions[fn]) } },
  ];

  it("turns function errors into a rate of invocations over 5 minutes with a minimum count", () => {
    for (const fn of FUNCTION_NAMES) {
      const mine = alarms(defaults).filter((a) =>
        (a.Metrics ?? []).some(
          (m) =>
            JSON.stringify(m.MetricStat?.Metric) ===
            JSON.stringify({
              Dimensions: functionDimension(defaults, fn),
              MetricName: "Errors",
              Namespace: "AWS/Lambda",
            }),
        ),
      );
      expect(mine, fn).toHaveLength(1);
      const [alarm] = mine as [AlarmProps];
      expect(alarm.Threshold).toBe(5);
      expect(alarm.ComparisonOperator).toBe("GreaterThanThreshold");
      expect(alarm.EvaluationPeriods).toBe(1);
      const expression = alarm.Metrics?.find((m) => m.Expression)?.Expression;
      expect(expression).toBe("IF(errors >= 5, 100 * errors / invocations, 0)");
      const stats = Object.fromEntries(
        (alarm.Metrics ?? []).filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat]),
      );
      expect(stats.errors).toMatchObject({ Metric: { MetricName: "Errors" }, Stat: "Sum", Period: 300 });
      expect(stats.invocations).toMatchObject({
        Metric: { MetricName: "Invocations" },
        Stat: "Sum",
        Period: 300,
      });
    }
    // no "> 0" count alarm on errors is left
    expect(alarms(defaults).filter((a) => a.MetricName === "Errors")).toEqual([]);
  });

  it("alarms on each function's p99 duration, sustained over 2 of 3 periods", () => {
    const expected: Record<FunctionName, number> = {
      send: 4_000,
      verify: 2_000,
      enroll: 4_000,
      "admin-config": 5_000,
    };
    for (const fn of FUNCTION_NAMES) {
      const [alarm, ...more] = alarms(defaults).filter(
        (a) =>
          a.MetricName === "Duration" &&
          JSON.stringify(a.Dimensions) === JSON.stringify(functionDimension(defaults, fn)),
      );
      expect(more).toEqual([]);
      expect(alarm).toMatchObject({
        ExtendedStatistic: "p99",
        Period: 300,
        Threshold: expected[fn],
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        ComparisonOperator: "GreaterThanThreshold",
      });
    }
    const overridden = synth({ stage: "dev", latencyP99Threshold: { verify: 800 } });
    const verifyAlarm = alarms(overridden).find(
      (a) =>
        a.MetricName === "Duration" &&
        JSON.stringify(a.Dimensions) === JSON.stringify(functionDimension(overridden, "verify")),
    );
    expect(verifyAlarm?.Threshold).toBe(800);
  });

  it("alarms on lost audit writes and unpublished events of this instance", () => {
    expect(custom(defaults, "AuditWriteFailed")).toEqual([
      expect.objectContaining({ Statistic: "Sum", Period: 300, Threshold: 0 }),
    ]);
    expect(custom(defaults, "EventPublishFailed")).toEqual([
      expect.objectContaining({ Statistic: "Sum", Period: 300, Threshold: 10 }),
    ]);
    for (const metric of ["AuditWriteFailed", "EventPublishFailed"]) {
      expect(custom(defaults, metric)[0]?.Dimensions).toEqual([
        { Name: "instance", Value: defaults.service.instanceId },
        { Name: "service", Value: "otp-service" },
      ]);
    }
    const tuned = synth({ stage: "dev", auditWriteFailedThreshold: 2, eventPublishFailedThreshold: 50 });
    expect(custom(tuned, "AuditWriteFailed")[0]?.Threshold).toBe(2);
    expect(custom(tuned, "EventPublishFailed")[0]?.Threshold).toBe(50);
  });

  it("alarms on the table's read and write throttle events together", () => {
    const table = logicalId(defaults, defaults.service.table);
    const [alarm, ...more] = alarms(defaults).filter((a) =>
      (a.Metrics ?? []).some((m) => m.MetricStat?.Metric.MetricName === "ReadThrottleEvents"),
    );
    expect(more).toEqual([]);
    expect(alarm?.Threshold).toBe(10);
    expect(alarm?.Metrics?.find((m) => m.Expression)?.Expression).toBe("reads + writes");
    for (const m of (alarm?.Metrics ?? []).filter((x) => x.MetricStat)) {
      expect(m.MetricStat).toMatchObject({
        Metric: { Namespace: "AWS/DynamoDB", Dimensions: [{ Name: "TableName", Value: { Ref: table } }] },
        Stat: "Sum",
        Period: 300,
      });
    }
    expect(
      alarm?.Metrics?.map((m) => m.MetricStat?.Metric.MetricName)
        .filter(Boolean)
        .sort(),
    ).toEqual(["ReadThrottleEvents", "WriteThrottleEvents"]);
  });

  it("alarms on the account's SES bounce rate above 5% and complaint rate above 0.1%", () => {
    const ses = alarms(defaults).filter((a) => a.Namespace === "AWS/SES");
    expect(
      ses
        .map((a) => ({ metric: a.MetricName, threshold: a.Threshold, stat: a.Statistic, dims: a.Dimensions }))
        .sort((a, b) => String(a.metric).localeCompare(String(b.metric))),
    ).toEqual([
      { metric: "Reputation.BounceRate", threshold: 0.05, stat: "Maximum", dims: undefined },
      { metric: "Reputation.ComplaintRate", threshold: 0.001, stat: "Maximum", dims: undefined },
    ]);
  });

  it("counts every alarm: 3 per function, API 5xx, 4 service metrics, audit, events, table, SES x2", () => {
    expect(alarms(defaults)).toHaveLength(FUNCTION_NAMES.length * 3 + 1 + 4 + 2 + 1 + 2);
    for (const alarm of alarms(defaults)) expect(alarm.TreatMissingData).toBe("notBreaching");
  });
});

describe("dashboard", () => {
  type Widget = { type: string; properties: { title?: string; metrics?: unknown[][]; alarms?: unknown[] } };
  /** The dashboard body with each CloudFormation reference as `<LogicalId>`. */
  const widgetsOf = (s: Synth): Widget[] => {
    const [dashboard, ...more] = Object.values(s.resources).filter(
      (r) => r.Type === "AWS::CloudWatch::Dashboard",
    );
    expect(more).toEqual([]);
    const body = dashboard?.Properties.DashboardBody as { "Fn::Join": [string, unknown[]] };
    const text = body["Fn::Join"][1]
      .map((part) => (typeof part === "string" ? part : `<${refId(part) ?? JSON.stringify(part)}>`))
      .join("");
    return (JSON.parse(text) as { widgets: Widget[] }).widgets;
  };
  const metricsOf = (s: Synth, title: string): unknown[][] => {
    const widget = widgetsOf(s).find((w) => w.properties.title === title);
    expect(widget, title).toBeDefined();
    return widget?.properties.metrics ?? [];
  };
  /** Each metric line as `namespace name dim=value,...` (dimensions sorted), without its rendering options. */
  const names = (metrics: unknown[][]) =>
    metrics.map((m) => {
      const [namespace, name, ...dims] = m.filter((x) => typeof x === "string") as string[];
      const pairs: string[] = [];
      for (let i = 0; i < dims.length; i += 2) pairs.push(`${dims[i]}=${dims[i + 1]}`);
      return `${namespace} ${name} ${pairs.sort().join(",")}`;
    });

  it("shows codes sent by channel, approvals by method, denials, lockouts and SMS blocked", () => {
    const instance = defaults.service.instanceId;
    const own = (metric: string, dimension?: string) =>
      `OtpService ${metric} ${[`instance=${instance}`, "service=otp-service", ...(dimension ? [dimension] : [])].sort().join(",")}`;
    expect(names(metricsOf(defaults, "Codes sent by channel"))).toEqual([
      own("CodeSent"),
      own("CodeSent", "channel=sms"),
      own("CodeSent", "channel=email"),
    ]);
    expect(names(metricsOf(defaults, "Verifications: approved by method, denied"))).toEqual([
      own("VerificationApproved"),
      ...["sms", "email", "totp", "webauthn", "recovery"].map((m) =>
        own("VerificationApproved", `method=${m}`),
      ),
      own("VerificationDenied"),
    ]);
    expect(names(metricsOf(defaults, "Lockouts, SMS protection, delivery"))).toEqual([
      own("UserLocked"),
      own("SmsBlocked"),
      own("SmsBreakerOpened"),
      own("DeliveryFailed"),
    ]);
  });

  it("shows p50 and p99 latency of every cloud route, from the stage's detailed metrics", () => {
    const api = logicalId(defaults, defaults.service.api);
    const cloudRoutes = routes.filter((r) => r.fn !== "local");
    for (const stat of ["p50", "p99"]) {
      const metrics = metricsOf(defaults, `Latency ${stat} by route (ms)`);
      expect(names(metrics)).toEqual(
        cloudRoutes.map(
          (r) => `AWS/ApiGateway Latency ApiId=<${api}>,Method=${r.method},Resource=${r.path},Stage=$default`,
        ),
      );
      for (const m of metrics) expect(m.at(-1)).toMatchObject({ stat });
    }
    const stage = Object.values(defaults.resources).find((r) => r.Type === "AWS::ApiGatewayV2::Stage");
    expect(stage?.Properties.DefaultRouteSettings).toMatchObject({ DetailedMetricsEnabled: true });
  });

  it("shows cold starts per function (Powertools' ColdStart by function_name), durations, errors and faults", () => {
    const instance = defaults.service.instanceId;
    expect(names(metricsOf(defaults, "Cold starts"))).toEqual(
      FUNCTION_NAMES.map(
        (fn) =>
          `OtpService ColdStart function_name=<${logicalId(defaults, defaults.service.functions[fn])}>,instance=${instance},service=otp-service`,
      ),
    );
    expect(names(metricsOf(defaults, "Function duration p99 (ms)"))).toHaveLength(4);
    expect(names(metricsOf(defaults, "Audit log and events lost"))).toEqual([
      `OtpService AuditWriteFailed instance=${instance},service=otp-service`,
      `OtpService EventPublishFailed instance=${instance},service=otp-service`,
    ]);
    expect(names(metricsOf(defaults, "Table throttle events"))).toEqual([
      `AWS/DynamoDB ReadThrottleEvents TableName=<${logicalId(defaults, defaults.service.table)}>`,
      `AWS/DynamoDB WriteThrottleEvents TableName=<${logicalId(defaults, defaults.service.table)}>`,
    ]);
    const status = widgetsOf(defaults).find((w) => w.type === "alarm");
    expect(status?.properties.alarms).toHaveLength(defaults.service.alarms.length);
  });
});
