import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { isStage } from "#lib/otp-service";
import { OtpServiceStack } from "#lib/otp-service-stack";

/** `npx cdk synth|deploy -c stage=dev|test|prod [-c sesIdentity=example.com] [-c alarmTopicArn=arn:...]` */
const app = new App();
const stage: unknown = app.node.tryGetContext("stage") ?? "dev";
if (!isStage(stage)) throw new Error(`-c stage must be dev, test or prod, got ${String(stage)}`);
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === "string" && value !== "" ? value : undefined;
};
const sesIdentity = context("sesIdentity");
const alarmTopicArn = context("alarmTopicArn");

// Environment-agnostic: no account, no region, no lookups; `cdk synth` runs offline.
new OtpServiceStack(app, `OtpService-${stage}`, {
  stage,
  description: `otp-service (${stage}): multi-factor authentication`,
  ...(sesIdentity ? { sesIdentity } : {}),
  ...(alarmTopicArn ? { alarmTopicArn } : {}),
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
