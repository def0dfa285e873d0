import { App, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { OtpServiceStack } from "#lib/otp-service-stack";

type Resource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };

let prod: OtpServiceStack;
let prodTemplate: Template;
let withIdentity: OtpServiceStack;
let withIdentityTemplate: Template;

const ofType = (template: Template, type: string): Resource[] =>
  Object.values(template.toJSON().Resources as Record<string, Resource>).filter((r) => r.Type === type);

/** Every acknowledgement recorded in the tree, with its reason. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id,
          reason,
        })),
      ),
  );
}

/**
 * The prebuilt code is the same for every stage and otp-service-stack.test.ts checks it;
 * here it is referenced in place instead of copied into each assembly (CDK's own switch).
 */
const appWithoutBundling = () => new App({ context: { "aws:cdk:disable-asset-staging": true } });

beforeAll(() => {
  prod = new OtpServiceStack(appWithoutBundling(), "OtpService-prod", { stage: "prod" });
  prodTemplate = Template.fromStack(prod);
  withIdentity = new OtpServiceStack(appWithoutBundling(), "OtpService-test", {
    stage: "test",
    sesIdentity: "mail.example.com",
    alarmTopicArn: "arn:aws:sns:eu-west-1:111111111111:otp-alarms",
  });
  withIdentityTemplate = Template.fromStack(withIdentity);
}, 120_000);

describe("prod stage", () => {
  it("retains the table and protects it from deletion", () => {
    prodTemplate.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: Match.objectLike({
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    });
  });

  it("retains the secrets and the log groups, kept for a year", () => {
    const secrets = prodTemplate.findResources("AWS::SecretsManager::Secret");
    expect(Object.keys(secrets)).toHaveLength(3);
    for (const secret of Object.values(secrets)) expect(secret.DeletionPolicy).toBe("Retain");
    const logGroups = Object.values(prodTemplate.findResources("AWS::Logs::LogGroup"));
    expect(logGroups).toHaveLength(5);
    for (const group of logGroups) {
      expect(group.DeletionPolicy).toBe("Retain");
      expect(group.Properties.RetentionInDays).toBe(365);
    }
  });

  it("leaves the secrets' names to CloudFormation, so a redeploy after destroy meets no retained name", () => {
    for (const secret of ofType(prodTemplate, "AWS::SecretsManager::Secret")) {
      expect(secret.Properties.Name).toBeUndefined();
    }
    for (const set of ofType(prodTemplate, "AWS::SES::ConfigurationSet")) {
      expect(set.Properties.Name).toBeUndefined();
    }
  });
});

describe("context", () => {
  it("creates the SES identity named by context, in the configuration set", () => {
    withIdentityTemplate.hasResourceProperties("AWS::SES::EmailIdentity", {
      EmailIdentity: "mail.example.com",
      ConfigurationSetAttributes: { ConfigurationSetName: Match.anyValue() },
    });
  });

  it("outputs the DKIM records that verify the domain", () => {
    const outputs = withIdentityTemplate.toJSON().Outputs as Record<string, unknown>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(["DkimRecord1", "DkimRecord2", "DkimRecord3"]),
    );
  });

  it("then lets functions send email from that identity only", () => {
    const policies = ofType(withIdentityTemplate, "AWS::IAM::Policy");
    const sesResources = policies.flatMap((p) =>
      (
        p.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown[] }[] }
      ).Statement.filter((s) => s.Action === "ses:SendEmail").flatMap((s) => s.Resource),
    );
    expect(sesResources.length).toBeGreaterThan(0);
    expect(JSON.stringify(sesResources)).not.toContain("identity/*");
  });

  it("sends every alarm to the given topic", () => {
    const alarms = ofType(withIdentityTemplate, "AWS::CloudWatch::Alarm");
    expect(alarms).toHaveLength(22);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual(["arn:aws:sns:eu-west-1:111111111111:otp-alarms"]);
    }
  });
});

describe("cdk-nag AwsSolutions", () => {
  it.each([
    ["dev", () => new OtpServiceStack(appWithoutBundling(), "OtpService-dev", { stage: "dev" })],
    ["prod", () => prod],
    ["test with an SES identity", () => withIdentity],
  ])("finds nothing unacknowledged in the %s stack", (_name, make) => {
    const stack = make();
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(
      report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });

  it("gives every acknowledgement a written reason", () => {
    const acks = acknowledgements(prod);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id, ack.path).toMatch(/AwsSolutions-/);
      expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThan(60);
    }
  });
});
