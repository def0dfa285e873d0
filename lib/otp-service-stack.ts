import { CfnOutput, Fn, Stack, type StackProps } from "aws-cdk-lib";
import { Certificate } from "aws-cdk-lib/aws-certificatemanager";
import { Topic } from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { OtpService } from "./otp-service.ts";

export interface OtpServiceStackProps extends StackProps {
  /** Any name; `prod` retains data, secrets and logs (see OtpServiceProps.stage). */
  readonly stage: string;
  /** SES identity to create: a domain or an email address. */
  readonly sesIdentity?: string;
  /** An existing SNS topic the alarms notify. */
  readonly alarmTopicArn?: string;
  /** Serve the API on this domain too, with this ACM certificate (same region). */
  readonly customDomain?: { readonly domainName: string; readonly certificateArn: string };
  /** X-Ray active tracing and Powertools Tracer in the functions (see OtpServiceProps.tracing). */
  readonly tracing?: boolean;
  /** Concurrency reserved for every function; `0` reserves none (see OtpServiceProps.reservedConcurrency). */
  readonly reservedConcurrency?: number;
}

/** The stack name `otp-admin` looks up for `--stage <stage>`. */
export const stackNameOf = (stage: string): string => `OtpService-${stage}`;

/** One deployable stage of the service, with the outputs an operator needs. */
export class OtpServiceStack extends Stack {
  readonly service: OtpService;

  constructor(scope: Construct, id: string, props: OtpServiceStackProps) {
    super(scope, id, props);
    const { stage } = props;
    this.service = new OtpService(this, "OtpService", {
      stage,
      ...(props.sesIdentity ? { sesIdentity: props.sesIdentity } : {}),
      ...(props.tracing ? { tracing: true } : {}),
      ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrency: props.reservedConcurrency }),
      ...(props.alarmTopicArn
        ? { alarmTopic: Topic.fromTopicArn(this, "AlarmTopic", props.alarmTopicArn) }
        : {}),
      ...(props.customDomain
        ? {
            customDomain: {
              domainName: props.customDomain.domainName,
              certificate: Certificate.fromCertificateArn(
                this,
                "Certificate",
                props.customDomain.certificateArn,
              ),
            },
          }
        : {}),
    });
    const { service } = this;
    const { apiStage, api, table, serviceSecret, twilioSecret, sinchSecret, configurationSet } = service;

    new CfnOutput(this, "ApiUrl", {
      value: service.url,
      description: "Base URL of the HTTP API (the custom domain's when there is one)",
    });
    if (service.domainName) {
      new CfnOutput(this, "ExecuteApiUrl", { value: apiStage.url, description: "The API's own URL" });
      new CfnOutput(this, "CustomDomainTarget", {
        value: service.domainName.regionalDomainName,
        description: `Point ${props.customDomain?.domainName} here (CNAME, or an alias record in Route 53)`,
      });
    }
    // otp-admin finds a stack named OtpService-<stage> by --stage; any other name by its URL.
    const next =
      this.stackName === stackNameOf(stage)
        ? `npm run admin -- init --stage ${stage}`
        : Fn.join("", ["npm run admin -- init --url ", service.url]);
    new CfnOutput(this, "NextStep", {
      value: next,
      description:
        "Run this next: creates the first app, prints its API key once, and walks through senders and secrets",
    });
    new CfnOutput(this, "TableName", { value: table.tableName });
    new CfnOutput(this, "ServiceSecretName", { value: serviceSecret.secretName });
    new CfnOutput(this, "TwilioSecretName", { value: twilioSecret.secretName });
    new CfnOutput(this, "SinchSecretName", { value: sinchSecret.secretName });
    new CfnOutput(this, "SecretNamePrefix", {
      value: service.secretNamePrefix,
      description:
        "Secrets an app's config names (other than twilio and sinch-verification-api) live under this prefix",
    });
    new CfnOutput(this, "ConfigurationSetName", {
      value: configurationSet.configurationSetName,
      description: "SES configuration set for apps' email.configurationSet",
    });
    const identity = service.emailIdentity;
    if (identity && !props.sesIdentity?.includes("@")) {
      identity.dkimRecords.forEach((record, i) => {
        new CfnOutput(this, `DkimRecord${i + 1}`, {
          value: `${record.name} CNAME ${record.value}`,
          description: "DNS record that verifies the SES domain identity",
        });
      });
    }
    new CfnOutput(this, "AdminExecuteApiArn", {
      value: api.arnForExecuteApi("*", "/v1/admin/*", "$default"),
      description: "Grant execute-api:Invoke on this to the admins' IAM principals",
    });
  }
}
