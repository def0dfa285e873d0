import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import { Topic } from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { OtpService, type Stage } from "./otp-service.ts";

export interface OtpServiceStackProps extends StackProps {
  readonly stage: Stage;
  /** SES identity to create: a domain or an email address. */
  readonly sesIdentity?: string;
  /** An existing SNS topic the alarms notify. */
  readonly alarmTopicArn?: string;
}

/** One deployable stage of the service, with the outputs an operator needs. */
export class OtpServiceStack extends Stack {
  readonly service: OtpService;

  constructor(scope: Construct, id: string, props: OtpServiceStackProps) {
    super(scope, id, props);
    this.service = new OtpService(this, "OtpService", {
      stage: props.stage,
      ...(props.sesIdentity ? { sesIdentity: props.sesIdentity } : {}),
      ...(props.alarmTopicArn
        ? { alarmTopic: Topic.fromTopicArn(this, "AlarmTopic", props.alarmTopicArn) }
        : {}),
    });
    const { apiStage, api, table, serviceSecret, twilioSecret, sinchSecret, configurationSet } = this.service;

    new CfnOutput(this, "ApiUrl", { value: apiStage.url, description: "Base URL of the HTTP API" });
    new CfnOutput(this, "TableName", { value: table.tableName });
    new CfnOutput(this, "ServiceSecretName", { value: serviceSecret.secretName });
    new CfnOutput(this, "TwilioSecretName", { value: twilioSecret.secretName });
    new CfnOutput(this, "SinchSecretName", { value: sinchSecret.secretName });
    new CfnOutput(this, "ConfigurationSetName", {
      value: configurationSet.configurationSetName,
      description: "SES configuration set for apps' email.configurationSet",
    });
    const identity = this.service.emailIdentity;
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
