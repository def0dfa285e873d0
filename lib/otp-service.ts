import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { PolicyDocument, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, LoggingFormat, Runtime } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { ConfigurationSet, EmailIdentity, Identity } from "aws-cdk-lib/aws-ses";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import { type FunctionName, routes } from "./routes.ts";
import { TABLE_KEYS } from "./table.ts";

export const STAGES = ["dev", "test", "prod"] as const;
export type Stage = (typeof STAGES)[number];
export const isStage = (value: unknown): value is Stage => STAGES.includes(value as Stage);

/**
 * The item-level DynamoDB actions the store (functions/adapters/dynamodb-store.ts) sends:
 * no Scan, no batch or transaction, no table administration (sessions are signed, never written).
 */
export const TABLE_ITEM_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
] as const;
export const SECRET_READ_ACTIONS = ["secretsmanager:GetSecretValue"] as const;
/** Listing provider secrets shows when each was last changed. */
export const SECRET_DESCRIBE_ACTIONS = ["secretsmanager:DescribeSecret"] as const;
export const SECRET_WRITE_ACTIONS = ["secretsmanager:PutSecretValue"] as const;

/** Where the functions put the custom metrics the alarms watch. */
export const METRICS_NAMESPACE = "OtpService";
export const METRICS_DIMENSIONS = { service: "otp-service" } as const;

export interface OtpServiceProps {
  readonly stage: Stage;
  /** A domain (`example.com`) or address (`no-reply@example.com`) to create an SES identity for. */
  readonly sesIdentity?: string;
  /** Where alarms notify; none when absent. */
  readonly alarmTopic?: ITopic;
  /** Stage throttling of the HTTP API. @default { burstLimit: 200, rateLimit: 100 } */
  readonly throttle?: { readonly burstLimit: number; readonly rateLimit: number };
  /** `DeliveryFailed` above this sum over 5 minutes alarms. @default 10 */
  readonly deliveryFailedThreshold?: number;
  /** `UserLocked` above this sum over 5 minutes alarms (a brute-force wave). @default 20 */
  readonly userLockedThreshold?: number;
  /** `SmsBlocked` (SMS protection's refusals, every reason) above this sum over 5 minutes alarms: a pumping wave. @default 50 */
  readonly smsBlockedThreshold?: number;
}

/** prod keeps its data and logs when the stack goes; other stages clean up after themselves. */
const removalPolicyOf = (stage: Stage) => (stage === "prod" ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);
const logRetentionOf = (stage: Stage) =>
  stage === "prod" ? RetentionDays.ONE_YEAR : RetentionDays.ONE_MONTH;

const projectRoot = fileURLToPath(new URL("..", import.meta.url));
const entryOf = (name: FunctionName): string =>
  fileURLToPath(new URL(`../functions/${name}.ts`, import.meta.url));

interface OtpFunctionProps {
  readonly name: FunctionName;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * One entry point of `functions/` with the defaults every function shares: Node.js 22
 * on arm64, an ESM bundle built by the local esbuild (minified, with source maps and a
 * `require` for CommonJS dependencies such as twilio), JSON logs into its own log group
 * with a retention, and a role that may write only to that log group.
 */
export class OtpFunction extends NodejsFunction {
  readonly otpName: FunctionName;
  readonly executionRole: Role;

  constructor(scope: Construct, id: string, props: OtpFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole: logs go to this group only.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `otp-service ${props.name} function`,
      inlinePolicies: {
        logs: new PolicyDocument({
          statements: [
            new PolicyStatement({
              actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
              resources: [logGroup.logGroupArn],
            }),
          ],
        }),
      },
    });
    super(scope, id, {
      entry: entryOf(props.name),
      handler: "handler",
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      description: `otp-service ${props.name}`,
      projectRoot,
      depsLockFilePath: fileURLToPath(new URL("../package-lock.json", import.meta.url)),
      // No --enable-source-maps: decoding the map at every cold start costs ~90 ms; the .map ships for offline use.
      environment: props.environment,
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: "node22",
        minify: true,
        sourceMap: true,
        mainFields: ["module", "main"],
        banner:
          "import{createRequire as __otpRequire}from'node:module';const require=__otpRequire(import.meta.url);",
        // Bundle the AWS SDK too: the pinned versions the tests ran against, not whatever the runtime ships.
        // twilio (3 MB, two thirds of a bundle) is left out of the handler's file and shipped beside it,
        // bundled on its own: it is parsed only when the first Twilio SMS is sent, not at every cold start.
        // @simplewebauthn/server (~0.5 MB) likewise: imported only by the first WebAuthn request.
        externalModules: ["twilio", "@simplewebauthn/server"],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            `"${inputDir}/node_modules/.bin/esbuild" "${inputDir}/node_modules/twilio/lib/index.js" --bundle --platform=node --format=cjs --target=node22 --minify --log-level=error --outfile="${outputDir}/node_modules/twilio/index.js"`,
            `node -e "require('fs').writeFileSync(process.argv[1], JSON.stringify({ name: 'twilio', main: 'index.js' }))" "${outputDir}/node_modules/twilio/package.json"`,
            `"${inputDir}/node_modules/.bin/esbuild" "${inputDir}/node_modules/@simplewebauthn/server/esm/index.js" --bundle --platform=node --format=esm --target=node22 --minify --log-level=error "--banner:js=import{createRequire as __otpRequire}from'node:module';const require=__otpRequire(import.meta.url);" --outfile="${outputDir}/node_modules/@simplewebauthn/server/index.mjs"`,
            `node -e "require('fs').writeFileSync(process.argv[1], JSON.stringify({ name: '@simplewebauthn/server', type: 'module', main: 'index.mjs' }))" "${outputDir}/node_modules/@simplewebauthn/server/package.json"`,
          ],
        },
      },
    });
    this.otpName = props.name;
    this.executionRole = role;
  }

  /** Item reads and writes on the table, nothing table-wide. */
  grantTableItems(table: Table): void {
    table.grant(this, ...TABLE_ITEM_ACTIONS);
  }

  grantSecretRead(...secrets: Secret[]): void {
    this.addToRolePolicy(
      new PolicyStatement({ actions: [...SECRET_READ_ACTIONS], resources: secrets.map((s) => s.secretArn) }),
    );
  }

  grantSecretDescribe(...secrets: Secret[]): void {
    this.addToRolePolicy(
      new PolicyStatement({
        actions: [...SECRET_DESCRIBE_ACTIONS],
        resources: secrets.map((s) => s.secretArn),
      }),
    );
  }

  grantSecretWrite(...secrets: Secret[]): void {
    this.addToRolePolicy(
      new PolicyStatement({ actions: [...SECRET_WRITE_ACTIONS], resources: secrets.map((s) => s.secretArn) }),
    );
  }

  grantSendEmail(resources: string[]): void {
    this.addToRolePolicy(new PolicyStatement({ actions: ["ses:SendEmail"], resources }));
  }
}

/**
 * The whole service: HTTP API over the route table, four functions with least-privilege
 * grants, the table, the secrets, SES and the alarms. Every cdk-nag AwsSolutions finding
 * is fixed here or acknowledged with its reason.
 */
export class OtpService extends Construct {
  readonly api: HttpApi;
  readonly apiStage: HttpStage;
  readonly table: Table;
  readonly serviceSecret: Secret;
  readonly twilioSecret: Secret;
  readonly sinchSecret: Secret;
  readonly configurationSet: ConfigurationSet;
  readonly emailIdentity?: EmailIdentity;
  readonly functions: Record<FunctionName, OtpFunction>;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: OtpServiceProps) {
    super(scope, id);
    const { stage } = props;
    const prod = stage === "prod";
    const removalPolicy = removalPolicyOf(stage);
    const logRetention = logRetentionOf(stage);
    const secretPrefix = `otp-service/${stage}/`;

    this.table = new Table(this, "Table", {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: prod,
      removalPolicy,
    });

    this.serviceSecret = new Secret(this, "ServiceSecret", {
      secretName: `${secretPrefix}service`,
      description: "otp-service pepper (HMAC of codes) and the TOTP encryption key derived from it",
      generateSecretString: {
        secretStringTemplate: "{}",
        generateStringKey: "pepper",
        passwordLength: 64,
        excludePunctuation: true,
      },
      removalPolicy,
    });
    this.twilioSecret = providerSecret(this, "TwilioSecret", `${secretPrefix}twilio`, removalPolicy);
    this.sinchSecret = providerSecret(
      this,
      "SinchSecret",
      `${secretPrefix}sinch-verification-api`,
      removalPolicy,
    );
    Validations.of(this.serviceSecret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "The pepper keys the HMACs of live codes and derives the TOTP encryption key (key id `derived-1`); " +
        "a rotation Lambda would make every stored TOTP secret unreadable. Admins rotate by adding a new " +
        "entry to `encryptionKeys` and `currentKeyId` with put-secret-value (SECURITY.md rule 24).",
    });
    for (const secret of [this.twilioSecret, this.sinchSecret]) {
      Validations.of(secret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "Provider credentials are issued by Twilio/Sinch, not generated by AWS, so no rotation Lambda can " +
          "create them. Admins rotate by hand (PUT /v1/admin/secrets/{name} or put-secret-value); the functions " +
          "re-read the secret when the provider answers 'authentication failed' (SECURITY.md rule 22).",
      });
    }

    this.configurationSet = new ConfigurationSet(this, "ConfigurationSet", {
      configurationSetName: `otp-service-${stage}`,
      reputationMetrics: true,
    });
    if (props.sesIdentity) {
      this.emailIdentity = new EmailIdentity(this, "EmailIdentity", {
        identity: props.sesIdentity.includes("@")
          ? Identity.email(props.sesIdentity)
          : Identity.domain(props.sesIdentity),
        configurationSet: this.configurationSet,
      });
    }

    const environment = {
      OTP_TABLE_NAME: this.table.tableName,
      OTP_SERVICE_SECRET_ID: this.serviceSecret.secretArn,
      OTP_TWILIO_SECRET_ID: this.twilioSecret.secretArn,
      OTP_SINCH_SECRET_ID: this.sinchSecret.secretArn,
      OTP_SECRET_PREFIX: secretPrefix,
    };
    const fn = (name: FunctionName, id: string, memorySize: number, timeoutSeconds: number) =>
      new OtpFunction(this, id, {
        name,
        memorySize,
        timeout: Duration.seconds(timeoutSeconds),
        environment,
        logRetention,
        removalPolicy,
      });
    this.functions = {
      // A provider may take 5 s, then the fallback another 5 s.
      send: fn("send", "SendFunction", 512, 15),
      verify: fn("verify", "VerifyFunction", 512, 10),
      enroll: fn("enroll", "EnrollFunction", 512, 10),
      "admin-config": fn("admin-config", "AdminConfigFunction", 256, 15),
    };
    this.grantLeastPrivilege();

    this.grantSendEmail();
    for (const f of Object.values(this.functions)) {
      Validations.of(f).acknowledge({
        id: "AwsSolutions-L1",
        reason:
          "Node.js 22 is the runtime the service is built and tested for (DESIGN.md); moving to a newer runtime " +
          "is a deliberate upgrade with its own test run, not a side effect of a deploy.",
      });
    }

    const { api, stage: apiStage } = this.httpApi(props);
    this.api = api;
    this.apiStage = apiStage;
    this.createAlarms(props);
  }

  /** Explicit grants per function (SECURITY.md rule 34): only admin-config writes secrets. */
  private grantLeastPrivilege(): void {
    const { send, verify, enroll } = this.functions;
    const admin = this.functions["admin-config"];
    for (const f of [send, verify, enroll, admin]) f.grantTableItems(this.table);
    // Peppered code hashes and TOTP secrets.
    for (const f of [send, verify, enroll]) f.grantSecretRead(this.serviceSecret);
    // send and enroll issue codes by Twilio or Sinch; verify (and activation in enroll) reports a
    // code to Sinch; admin-config lists the secrets and sends test messages.
    for (const f of [send, enroll, admin]) f.grantSecretRead(this.twilioSecret, this.sinchSecret);
    verify.grantSecretRead(this.sinchSecret);
    admin.grantSecretDescribe(this.twilioSecret, this.sinchSecret);
    admin.grantSecretWrite(this.twilioSecret, this.sinchSecret);
  }

  /** Issuing a code (send, enroll) and the admin's test message send email through SES. */
  private grantSendEmail(): void {
    const stack = Stack.of(this);
    const identityArn =
      this.emailIdentity?.emailIdentityArn ??
      stack.formatArn({ service: "ses", resource: "identity", resourceName: "*" });
    const configurationSetArn = stack.formatArn({
      service: "ses",
      resource: "configuration-set",
      resourceName: this.configurationSet.configurationSetName,
    });
    for (const f of [this.functions.send, this.functions.enroll, this.functions["admin-config"]]) {
      f.grantSendEmail([identityArn, configurationSetArn]);
      if (!this.emailIdentity) {
        Validations.of(f.executionRole).acknowledge({
          id: "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]",
          reason:
            "No SES identity was given (context sesIdentity), so the sender is whichever identity an app's " +
            "config names, verified outside this stack. Limited to ses:SendEmail in this account and region.",
        });
      }
    }
  }

  private httpApi(props: OtpServiceProps): { api: HttpApi; stage: HttpStage } {
    const integrations = Object.fromEntries(
      Object.entries(this.functions).map(([name, f]) => [
        name,
        new HttpLambdaIntegration(`${f.node.id}Api`, f, {
          // One invoke permission per function for this API: the function checks the route itself.
          scopePermissionToRoute: false,
        }),
      ]),
    ) as Record<FunctionName, HttpLambdaIntegration>;
    const api = new HttpApi(this, "Api", {
      apiName: `otp-service-${props.stage}`,
      description: "otp-service: multi-factor authentication",
      createDefaultStage: false,
      // Unknown paths reach the service, which answers problem+json 404/405.
      defaultIntegration: integrations["admin-config"],
    });
    const iam = new HttpIamAuthorizer();
    for (const route of routes) {
      if (route.fn === "local") continue;
      api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrations[route.fn],
        ...(route.auth === "admin" ? { authorizer: iam } : {}),
      });
    }
    Validations.of(api).acknowledge({
      id: "AwsSolutions-APIG4",
      reason:
        "Client routes carry the app's API key (Authorization: Bearer), checked in the Lambda against SHA-256 " +
        "hashes in the table with revocation within 60 s (SECURITY.md rule 31); GET /healthz is public by design; " +
        "the $default route only answers 404/405. Admin routes use IAM authorization.",
    });

    const accessLogs = new LogGroup(this, "ApiAccessLogs", {
      retention: logRetentionOf(props.stage),
      removalPolicy: removalPolicyOf(props.stage),
    });
    const stage = new HttpStage(this, "ApiStage", {
      httpApi: api,
      stageName: "$default",
      autoDeploy: true,
      throttle: props.throttle ?? { burstLimit: 200, rateLimit: 100 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // No query string, headers or body: codes and keys never reach the access log.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            ip: "$context.identity.sourceIp",
            requestTime: "$context.requestTime",
            httpMethod: "$context.httpMethod",
            routeKey: "$context.routeKey",
            status: "$context.status",
            protocol: "$context.protocol",
            responseLength: "$context.responseLength",
            responseLatency: "$context.responseLatency",
            integrationLatency: "$context.integrationLatency",
            integrationError: "$context.integrationErrorMessage",
            iamUser: "$context.identity.userArn",
          }),
        ),
      },
    });
    return { api, stage };
  }

  private createAlarms(props: OtpServiceProps): void {
    const period = Duration.minutes(5);
    const alarm = (id: string, metric: IMetric, threshold: number, description: string) => {
      const created = new Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `otp-service ${props.stage}: ${description}`,
      });
      if (props.alarmTopic) created.addAlarmAction(new SnsAction(props.alarmTopic));
      this.alarms.push(created);
    };
    for (const f of Object.values(this.functions)) {
      alarm(
        `${f.node.id}Errors`,
        f.metricErrors({ period, statistic: "Sum" }),
        0,
        `${f.otpName} function errors`,
      );
      alarm(
        `${f.node.id}Throttles`,
        f.metricThrottles({ period, statistic: "Sum" }),
        0,
        `${f.otpName} function throttled`,
      );
    }
    alarm(
      "Api5xx",
      this.api.metricServerError({ period, statistic: "Sum" }),
      5,
      "HTTP API 5xx answers (the service itself never answers 5xx but 502/503)",
    );
    const custom = (metricName: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { ...METRICS_DIMENSIONS },
        statistic: "Sum",
        period,
      });
    alarm(
      "DeliveryFailedAlarm",
      custom("DeliveryFailed"),
      props.deliveryFailedThreshold ?? 10,
      "codes no provider accepted",
    );
    alarm(
      "UserLockedAlarm",
      custom("UserLocked"),
      props.userLockedThreshold ?? 20,
      "users locked out (brute-force wave?)",
    );
    alarm(
      "SmsBlockedAlarm",
      custom("SmsBlocked"),
      props.smsBlockedThreshold ?? 50,
      "SMS refused by SMS protection (SMS pumping? see GET /v1/admin/apps/{appId}/sms-protection)",
    );
    // A breaker opens only when a country's SMS stop converting: rare, and worth a look every time.
    alarm(
      "SmsBreakerOpenedAlarm",
      custom("SmsBreakerOpened"),
      0,
      "SMS to a country paused by the conversion breaker (resume it from the admin view once checked)",
    );
  }
}

/** A provider secret for admins to fill: it exists from the first deploy and holds a placeholder, no credential. */
function providerSecret(
  scope: Construct,
  id: string,
  secretName: string,
  removalPolicy: RemovalPolicy,
): Secret {
  const name = secretName.slice(secretName.lastIndexOf("/") + 1);
  return new Secret(scope, id, {
    secretName,
    description: `otp-service ${name} credentials; set them with PUT /v1/admin/secrets/${name}`,
    generateSecretString: {
      secretStringTemplate: JSON.stringify({ placeholder: `set with PUT /v1/admin/secrets/${name}` }),
      generateStringKey: "nonce",
      passwordLength: 16,
      excludePunctuation: true,
    },
    removalPolicy,
  });
}
