import { App, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Certificate } from "aws-cdk-lib/aws-certificatemanager";
import { EventBus } from "aws-cdk-lib/aws-events";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Topic } from "aws-cdk-lib/aws-sns";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import {
  FUNCTION_DEFAULTS,
  OtpService,
  type OtpServiceProps,
  RESERVED_CONCURRENCY_DEFAULTS,
} from "#lib/otp-service";
import { OtpServiceStack } from "#lib/otp-service-stack";
import type { FunctionName } from "#lib/routes";

type Resource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };

const FUNCTION_NAMES = Object.keys(FUNCTION_DEFAULTS) as FunctionName[];

/** The prebuilt code is checked in otp-service-stack.test.ts; here it is referenced in place, not copied. */
const newApp = () => new App({ context: { "aws:cdk:disable-asset-staging": true } });

const resourcesOf = (template: Template): Record<string, Resource> =>
  template.toJSON().Resources as Record<string, Resource>;
const ofType = (template: Template, type: string): [string, Resource][] =>
  Object.entries(resourcesOf(template)).filter(([, r]) => r.Type === type);

/** One construct in a stack of its own. */
function synth(props: OtpServiceProps): { service: OtpService; template: Template; stack: Stack } {
  const stack = new Stack(newApp(), "Consumer");
  const service = new OtpService(stack, "Otp", props);
  return { service, template: Template.fromStack(stack), stack };
}

const functionsOf = (template: Template, service: OtpService): Record<FunctionName, Resource> => {
  const all = resourcesOf(template);
  return Object.fromEntries(
    FUNCTION_NAMES.map((name) => {
      const fn = service.functions[name];
      const id = Stack.of(fn).getLogicalId(fn.node.defaultChild as never);
      return [name, all[id] as Resource];
    }),
  ) as Record<FunctionName, Resource>;
};

const noNag = (stack: Stack) => {
  const report = new AwsSolutionsChecks().validateScope(stack);
  expect(
    report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`),
  ).toEqual([]);
};

/**
 * Properties that would give a resource a fixed physical name. None is set: CloudFormation
 * generates every name, so instances never collide, now or after a destroy with retained resources.
 */
const PHYSICAL_NAME_PROPERTIES: Record<string, string> = {
  "AWS::DynamoDB::Table": "TableName",
  "AWS::SecretsManager::Secret": "Name",
  "AWS::SES::ConfigurationSet": "Name",
  "AWS::Lambda::Function": "FunctionName",
  "AWS::IAM::Role": "RoleName",
  "AWS::Logs::LogGroup": "LogGroupName",
  "AWS::CloudWatch::Alarm": "AlarmName",
  "AWS::CloudWatch::Dashboard": "DashboardName",
};

describe("two instances in one stack", () => {
  const stack = new Stack(newApp(), "TwoOtpServices");
  const first = new OtpService(stack, "First", { stage: "prod" });
  const second = new OtpService(stack, "Second", { stage: "prod" });
  const template = Template.fromStack(stack);
  const instances = [first, second];

  it("synthesizes both, each with its own table, secrets, functions, API, configuration set and logs", () => {
    const counts: Record<string, number> = {
      "AWS::DynamoDB::Table": 2,
      "AWS::SecretsManager::Secret": 6,
      "AWS::Lambda::Function": 8,
      "AWS::ApiGatewayV2::Api": 2,
      "AWS::ApiGatewayV2::Stage": 2,
      "AWS::SES::ConfigurationSet": 2,
      "AWS::Logs::LogGroup": 10,
      // 22 each; the two SES reputation alarms watch the same account-wide metrics
      "AWS::CloudWatch::Alarm": 44,
      "AWS::CloudWatch::Dashboard": 2,
    };
    for (const [type, count] of Object.entries(counts)) template.resourceCountIs(type, count);
  });

  it("reserves concurrency for both with the defaults and leaves at least 100 of the default 1,000 unreserved", () => {
    const reserved = ofType(template, "AWS::Lambda::Function").map(
      ([, fn]) => fn.Properties.ReservedConcurrentExecutions as number,
    );
    expect(reserved).toHaveLength(8);
    expect(reserved.every((n) => n > 0)).toBe(true);
    expect(1_000 - reserved.reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(100);
  });

  it("fixes no physical name anywhere, so nothing can collide", () => {
    for (const [type, property] of Object.entries(PHYSICAL_NAME_PROPERTIES)) {
      for (const [id, resource] of ofType(template, type)) {
        expect(resource.Properties[property], `${id} ${property}`).toBeUndefined();
      }
    }
  });

  it("gives the APIs distinct names, built from each instance's unique id", () => {
    const names = ofType(template, "AWS::ApiGatewayV2::Api").map(([, r]) => r.Properties.Name);
    expect(names.sort()).toEqual(instances.map((s) => `otp-service-${s.instanceId}`).sort());
    expect(new Set(names).size).toBe(2);
  });

  it("points each instance's functions at its own table, secrets and secret prefix", () => {
    for (const service of instances) {
      const own = (c: { node: { defaultChild?: unknown } }) =>
        stack.getLogicalId(c.node.defaultChild as never);
      for (const fn of Object.values(functionsOf(template, service))) {
        const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
        expect(env.OTP_TABLE_NAME).toEqual({ Ref: own(service.table) });
        expect(env.OTP_SERVICE_SECRET_ID).toEqual({ Ref: own(service.serviceSecret) });
        expect(env.OTP_TWILIO_SECRET_ID).toEqual({ Ref: own(service.twilioSecret) });
        expect(env.OTP_SECRET_PREFIX).toBe(service.secretNamePrefix);
        expect(env.OTP_METRICS_INSTANCE).toBe(service.instanceId);
      }
    }
    expect(first.secretNamePrefix).not.toBe(second.secretNamePrefix);
    // Neither prefix starts the other, so neither instance's wildcard reaches the other's secrets.
    expect(first.secretNamePrefix.startsWith(second.secretNamePrefix)).toBe(false);
    expect(second.secretNamePrefix.startsWith(first.secretNamePrefix)).toBe(false);
  });

  it("scopes each instance's secret wildcard to its own prefix", () => {
    const text = (r: unknown) => JSON.stringify(r);
    for (const [self, other] of [
      [first, second],
      [second, first],
    ] as const) {
      const roles = Object.values(self.functions).map((f) =>
        stack.getLogicalId(f.executionRole.node.defaultChild as never),
      );
      const statements = ofType(template, "AWS::IAM::Policy")
        .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => roles.includes(r.Ref)))
        .flatMap(
          ([, p]) => (p.Properties.PolicyDocument as { Statement: { Resource: unknown }[] }).Statement,
        );
      const secretResources = statements.map((s) => text(s.Resource)).filter((r) => r.includes(":secret:"));
      expect(secretResources.length).toBeGreaterThan(0);
      expect(secretResources.every((r) => r.includes(`:secret:${self.secretNamePrefix}*`))).toBe(true);
      expect(secretResources.some((r) => r.includes(other.secretNamePrefix))).toBe(false);
    }
  });

  it("alarms on each instance's own custom metrics", () => {
    for (const service of instances) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        MetricName: "DeliveryFailed",
        Dimensions: Match.arrayWith([{ Name: "instance", Value: service.instanceId }]),
      });
    }
    expect(first.instanceId).not.toBe(second.instanceId);
  });

  it("passes cdk-nag AwsSolutions with both", () => noNag(stack));
});

describe("props", () => {
  it("sizes every function's memory with a number, or some functions with a record", () => {
    const all = synth({ stage: "dev", memorySize: 1024 });
    for (const fn of Object.values(functionsOf(all.template, all.service))) {
      expect(fn.Properties.MemorySize).toBe(1024);
    }
    const some = synth({ stage: "dev", memorySize: { verify: 768 } });
    const fns = functionsOf(some.template, some.service);
    expect(fns.verify.Properties.MemorySize).toBe(768);
    expect(fns.send.Properties.MemorySize).toBe(FUNCTION_DEFAULTS.send.memorySize);
    expect(fns["admin-config"].Properties.MemorySize).toBe(256);
  });

  it("reserves concurrency as given for the functions named, the defaults for the others", () => {
    const reserved = synth({ stage: "prod", reservedConcurrency: { send: 20, "admin-config": 2 } });
    const fns = functionsOf(reserved.template, reserved.service);
    expect(fns.send.Properties.ReservedConcurrentExecutions).toBe(20);
    expect(fns["admin-config"].Properties.ReservedConcurrentExecutions).toBe(2);
    expect(fns.verify.Properties.ReservedConcurrentExecutions).toBe(RESERVED_CONCURRENCY_DEFAULTS.verify);
  });

  it("keeps logs as long as logRetention says, whatever the stage", () => {
    const { template } = synth({ stage: "prod", logRetention: RetentionDays.THREE_MONTHS });
    const groups = ofType(template, "AWS::Logs::LogGroup");
    expect(groups).toHaveLength(5);
    for (const [, group] of groups) expect(group.Properties.RetentionInDays).toBe(90);
  });

  it("treats any stage but prod as disposable, and lets removalPolicy override either way", () => {
    const policies = (template: Template) =>
      ["AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"].flatMap((type) =>
        ofType(template, type).map(([, r]) => r.DeletionPolicy),
      );
    const staging = synth({ stage: "staging-eu" });
    expect(new Set(policies(staging.template))).toEqual(new Set(["Delete"]));
    staging.template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });

    const kept = synth({ stage: "staging-eu", removalPolicy: RemovalPolicy.RETAIN });
    expect(new Set(policies(kept.template))).toEqual(new Set(["Retain"]));
    kept.template.hasResourceProperties("AWS::DynamoDB::Table", { DeletionProtectionEnabled: true });

    const disposableProd = synth({ stage: "prod", removalPolicy: RemovalPolicy.DESTROY });
    expect(new Set(policies(disposableProd.template))).toEqual(new Set(["Delete"]));
    disposableProd.template.hasResourceProperties("AWS::DynamoDB::Table", {
      DeletionProtectionEnabled: false,
    });
    // The stage still sets the default retention of logs.
    disposableProd.template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 365 });
  });

  it("serves the API on a custom domain with the given certificate, and takes its URL", () => {
    const stack = new Stack(newApp(), "Consumer");
    const certificate = Certificate.fromCertificateArn(
      stack,
      "Cert",
      "arn:aws:acm:eu-west-1:111111111111:certificate/abc",
    );
    const service = new OtpService(stack, "Otp", {
      stage: "prod",
      customDomain: { domainName: "mfa.example.com", certificate },
    });
    const template = Template.fromStack(stack);
    const [domainId] = ofType(template, "AWS::ApiGatewayV2::DomainName")[0] as [string, Resource];
    template.hasResourceProperties("AWS::ApiGatewayV2::DomainName", {
      DomainName: "mfa.example.com",
      DomainNameConfigurations: [
        Match.objectLike({ CertificateArn: "arn:aws:acm:eu-west-1:111111111111:certificate/abc" }),
      ],
    });
    const [apiId] = ofType(template, "AWS::ApiGatewayV2::Api")[0] as [string, Resource];
    template.hasResourceProperties("AWS::ApiGatewayV2::ApiMapping", {
      ApiId: { Ref: apiId },
      DomainName: { Ref: domainId },
      Stage: "$default",
    });
    // The mapping names the stage by its name, so it must wait for the stage to exist.
    const [stageId] = ofType(template, "AWS::ApiGatewayV2::Stage")[0] as [string, Resource];
    template.hasResource("AWS::ApiGatewayV2::ApiMapping", { DependsOn: Match.arrayWith([stageId]) });
    expect(service.url).toBe("https://mfa.example.com/");
    noNag(stack);
  });

  it("outputs the custom domain's URL as ApiUrl and the DNS target, from the stack", () => {
    const stack = new OtpServiceStack(newApp(), "OtpService-prod", {
      stage: "prod",
      customDomain: {
        domainName: "mfa.example.com",
        certificateArn: "arn:aws:acm:eu-west-1:111111111111:certificate/abc",
      },
    });
    const outputs = Template.fromStack(stack).toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.ApiUrl?.Value).toBe("https://mfa.example.com/");
    expect(JSON.stringify(outputs.CustomDomainTarget?.Value)).toContain("RegionalDomainName");
    expect(JSON.stringify(outputs.ExecuteApiUrl?.Value)).toContain("execute-api");
  });

  it("names the stack's URL in NextStep when otp-admin cannot find the stack by its stage", () => {
    const stack = new OtpServiceStack(newApp(), "Mfa-eu", { stage: "prod" });
    const outputs = Template.fromStack(stack).toJSON().Outputs as Record<string, { Value: unknown }>;
    const next = outputs.NextStep?.Value as { "Fn::Join": [string, unknown[]] };
    expect(next["Fn::Join"][1][0]).toBe("npm run admin -- init --url https://");
    expect(JSON.stringify(next)).toContain("execute-api");
  });

  it("sends every alarm to the alarm topic", () => {
    const stack = new Stack(newApp(), "Consumer");
    const topic = new Topic(stack, "Alarms", { enforceSSL: true });
    new OtpService(stack, "Otp", { stage: "dev", alarmTopic: topic });
    const template = Template.fromStack(stack);
    const [topicId] = ofType(template, "AWS::SNS::Topic")[0] as [string, Resource];
    const alarms = ofType(template, "AWS::CloudWatch::Alarm");
    expect(alarms).toHaveLength(22);
    for (const [, alarm] of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
  });

  it("puts audit events on the given bus: every function is told its name and may put events there only", () => {
    const stack = new Stack(newApp(), "Consumer");
    const bus = new EventBus(stack, "Audit");
    const service = new OtpService(stack, "Otp", { stage: "dev", eventBus: bus });
    const template = Template.fromStack(stack);
    const [busId] = ofType(template, "AWS::Events::EventBus")[0] as [string, Resource];
    for (const fn of Object.values(functionsOf(template, service))) {
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.OTP_EVENT_BUS_NAME).toEqual({ Ref: busId });
    }
    const putEvents = ofType(template, "AWS::IAM::Policy").flatMap(([, p]) =>
      (
        p.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }
      ).Statement.filter((s) => s.Action === "events:PutEvents"),
    );
    expect(putEvents).toHaveLength(4);
    for (const s of putEvents) expect(s.Resource).toEqual({ "Fn::GetAtt": [busId, "Arn"] });
  });

  it("throttles the API stage and sets alarm thresholds as given", () => {
    const { template } = synth({
      stage: "dev",
      throttle: { burstLimit: 40, rateLimit: 20 },
      deliveryFailedThreshold: 3,
      userLockedThreshold: 4,
      smsBlockedThreshold: 5,
    });
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      DefaultRouteSettings: { ThrottlingBurstLimit: 40, ThrottlingRateLimit: 20 },
    });
    for (const [metric, threshold] of [
      ["DeliveryFailed", 3],
      ["UserLocked", 4],
      ["SmsBlocked", 5],
    ] as const) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: metric, Threshold: threshold });
    }
  });

  it("uses instanceName in the API's name, the secret prefix and descriptions", () => {
    const { service, template } = synth({ stage: "dev", instanceName: "mfa" });
    expect(service.secretNamePrefix).toBe(`mfa/${service.instanceId}/`);
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", { Name: `mfa-${service.instanceId}` });
    template.hasResourceProperties("AWS::Lambda::Function", { Description: "mfa (dev) send" });
  });
});
