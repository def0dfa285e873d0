import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { OtpServiceStack, stackNameOf } from "#lib/otp-service-stack";

/**
 * `npx cdk synth|deploy -c stage=<name> [-c sesIdentity=example.com] [-c alarmTopicArn=arn:...]
 *  [-c domainName=mfa.example.com -c certificateArn=arn:aws:acm:...]`
 * cdk.json builds the Lambda code (`npm run build:functions`) before this runs.
 */
const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === "string" && value !== "" ? value : undefined;
};
const stage = context("stage") ?? "dev";
// The stage is part of the stack name: CloudFormation allows letters, digits and hyphens.
if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(stage))
  throw new Error(`-c stage must be letters, digits and hyphens, starting with a letter; got ${stage}`);
const sesIdentity = context("sesIdentity");
const alarmTopicArn = context("alarmTopicArn");
const domainName = context("domainName");
const certificateArn = context("certificateArn");
if (Boolean(domainName) !== Boolean(certificateArn))
  throw new Error("-c domainName and -c certificateArn go together");

// Environment-agnostic: no account, no region, no lookups; `cdk synth` runs offline.
new OtpServiceStack(app, stackNameOf(stage), {
  stage,
  description: `otp-service (${stage}): multi-factor authentication`,
  ...(sesIdentity ? { sesIdentity } : {}),
  ...(alarmTopicArn ? { alarmTopicArn } : {}),
  ...(domainName && certificateArn ? { customDomain: { domainName, certificateArn } } : {}),
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
