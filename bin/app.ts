import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { OtpServiceStack, stackNameOf } from "#lib/otp-service-stack";

/**
 * `npx cdk synth|deploy -c stage=<name> [-c sesIdentity=example.com] [-c alarmTopicArn=arn:...]
 *  [-c domainName=mfa.example.com -c certificateArn=arn:aws:acm:...] [-c tracing=true]
 *  [-c reservedConcurrency=0]`
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
const tracing = context("tracing");
if (tracing !== undefined && tracing !== "true" && tracing !== "false")
  throw new Error(`-c tracing must be true or false; got ${tracing}`);
const reservedConcurrency = context("reservedConcurrency");
if (reservedConcurrency !== undefined && !/^\d+$/.test(reservedConcurrency))
  throw new Error(
    `-c reservedConcurrency must be a whole number (0 reserves none); got ${reservedConcurrency}`,
  );
if (Boolean(domainName) !== Boolean(certificateArn))
  throw new Error("-c domainName and -c certificateArn go together");

// Environment-agnostic: no account, no region, no lookups; `cdk synth` runs offline.
new OtpServiceStack(app, stackNameOf(stage), {
  stage,
  description: `otp-service (${stage}): multi-factor authentication`,
  ...(sesIdentity ? { sesIdentity } : {}),
  ...(alarmTopicArn ? { alarmTopicArn } : {}),
  ...(domainName && certificateArn ? { customDomain: { domainName, certificateArn } } : {}),
  ...(tracing === "true" ? { tracing: true } : {}),
  ...(reservedConcurrency === undefined ? {} : { reservedConcurrency: Number(reservedConcurrency) }),
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
