import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ArnFormat, Duration, Names, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import {
  ApiMapping,
  DomainName,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type { ICertificate } from "aws-cdk-lib/aws-certificatemanager";
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { EventBus, type IEventBus } from "aws-cdk-lib/aws-events";
import { PolicyDocument, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import {
  Architecture,
  Code,
  Function as LambdaFunction,
  LoggingFormat,
  Runtime,
  Tracing,
} from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { ConfigurationSet, EmailIdentity, Identity } from "aws-cdk-lib/aws-ses";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import { FUNCTION_BUNDLING } from "./function-bundling.ts";
import { type FunctionName, routes } from "./routes.ts";
import { TABLE_KEYS } from "./table.ts";

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
export const TABLE_READ_ACTIONS = ["dynamodb:GetItem", "dynamodb:Query"] as const;
export const TABLE_WRITE_ACTIONS = [
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
] as const;

/**
 * The item families of the single table by partition key, as `dynamodb:LeadingKeys` patterns
 * (functions/adapters/dynamodb-items.ts `keys` builds them). IAM checks the partition key of
 * every GetItem/PutItem/UpdateItem/DeleteItem, and of a Query its key condition's `pk` value.
 */
export const ITEM_FAMILIES = {
  /** The app record, its config and its API key references (`APP#<appId>`). */
  app: "APP#*",
  /** API keys by hash (`KEY#<hash>`): what a client's bearer is checked against. */
  apiKey: "KEY#*",
  /** The list of apps (`APPS`), one item per app. */
  appIndex: "APPS",
  /** A user's state and factors (`USER#<appId>#<userId>`). */
  user: "USER#*",
  /** SMS protection's counters and breakers (`SMS#<appId>#...`). */
  sms: "SMS#*",
  /** First answers to `Idempotency-Key` requests (`IDEM#<appId>#<keyHash>`). */
  idempotency: "IDEM#*",
  /** The audit log (`AUDIT#<appId>`). */
  audit: "AUDIT#*",
} as const;
export type ItemFamily = keyof typeof ITEM_FAMILIES;

/**
 * Which item families each function may read (GetItem, Query) and write (PutItem, UpdateItem,
 * DeleteItem), from the use cases its entry point runs. Only admin-config writes apps, configs
 * and API keys (DESIGN.md); client functions read them to authenticate and load the config.
 * test/integration/table-access.test.ts drives every route against dynalite and checks each
 * request's partition key against this table.
 */
export const TABLE_ACCESS: Record<
  FunctionName,
  { readonly read: readonly ItemFamily[]; readonly write: readonly ItemFamily[] }
> = {
  // Issue a code: user state, SMS protection, the first answer to an Idempotency-Key, audit.
  send: {
    read: ["app", "apiKey", "user", "sms", "idempotency"],
    write: ["user", "sms", "idempotency", "audit"],
  },
  // Check a code (and report SMS conversions), validate and revoke sessions; audit (an approval refused by a race is retracted).
  verify: { read: ["app", "apiKey", "user"], write: ["user", "sms", "audit"] },
  // Enroll, activate (a code is sent and checked), list and remove factors, recovery codes.
  enroll: { read: ["app", "apiKey", "user", "sms"], write: ["user", "sms", "audit"] },
  // Apps, configs and keys; users (view, unlock); SMS protection's view and resume; the audit log.
  "admin-config": {
    read: ["app", "appIndex", "user", "sms", "audit"],
    write: ["app", "apiKey", "appIndex", "user", "sms", "audit"],
  },
};
export const SECRET_READ_ACTIONS = ["secretsmanager:GetSecretValue"] as const;
/** Listing provider secrets shows when each was last changed. */
export const SECRET_DESCRIBE_ACTIONS = ["secretsmanager:DescribeSecret"] as const;
export const SECRET_WRITE_ACTIONS = ["secretsmanager:PutSecretValue"] as const;
export const SECRET_CREATE_ACTIONS = ["secretsmanager:CreateSecret"] as const;

/** The channels that carry a code (`CodeSent`'s `channel`) and the ways a verification approves (`method`). */
const CODE_CHANNELS = ["sms", "email"] as const;
const VERIFICATION_METHODS = ["sms", "email", "totp", "webauthn", "recovery"] as const;

/** Where the functions put the custom metrics the alarms watch; `instance` tells instances apart. */
export const METRICS_NAMESPACE = "OtpService";
export const METRICS_DIMENSIONS = { service: "otp-service" } as const;

/** The functions run on Graviton: cheaper per GB-second (bench/ prices it). */
export const FUNCTION_ARCHITECTURE = Architecture.ARM_64;

/**
 * Concurrency reserved per function unless props say otherwise. 370 per instance: two instances
 * reserve 740 of the default quota of 1,000, leaving 260 unreserved (Lambda refuses to leave
 * fewer than 100). At the stage's 100 rps a healthy send (~0.3 s) holds ~30 executions and verify
 * a few; when providers hang a send holds one for up to 2 x 5 s, so 150 carries ~15 rps of hanging
 * sends and the rest are throttled instead of starving every other function of the account.
 */
export const RESERVED_CONCURRENCY_DEFAULTS: Record<FunctionName, number> = {
  send: 150,
  verify: 150,
  enroll: 50,
  "admin-config": 20,
};

/**
 * p99 duration (ms) per function above which an alarm fires. Healthy, send and enroll wait a
 * few hundred ms for a provider and verify tens of ms for the table; above these, a provider is
 * timing out (4 s each, then the fallback; functions/http/cloud-providers.ts) or the table is slow.
 */
export const LATENCY_P99_DEFAULTS: Record<FunctionName, number> = {
  send: 4_000,
  verify: 2_000,
  enroll: 4_000,
  "admin-config": 5_000,
};

/** Memory (MB) and timeout (s) per function: send waits for a provider, then maybe its fallback. */
export const FUNCTION_DEFAULTS: Record<FunctionName, { memorySize: number; timeoutSeconds: number }> = {
  send: { memorySize: 512, timeoutSeconds: 15 },
  verify: { memorySize: 512, timeoutSeconds: 10 },
  enroll: { memorySize: 512, timeoutSeconds: 10 },
  "admin-config": { memorySize: 256, timeoutSeconds: 15 },
};

export interface OtpServiceCustomDomain {
  /** e.g. `mfa.example.com`; point its DNS at the construct's `domainName.regionalDomainName`. */
  readonly domainName: string;
  /** An ACM certificate for `domainName` in the stack's region. */
  readonly certificate: ICertificate;
}

export interface OtpServiceProps {
  /**
   * Any name (`dev`, `prod`, `eu-prod`, ...). Only the defaults depend on it: `prod` retains its
   * data, secrets and logs for a year; any other stage is destroyed with the stack and keeps logs a month.
   */
  readonly stage: string;
  /**
   * What people read in the console: the start of descriptions, of the API's name and of the
   * secret name prefix. Physical names stay generated and unique per instance either way.
   * @default "otp-service"
   */
  readonly instanceName?: string;
  /** MB for every function, or per function (the others keep their defaults). @default send, verify, enroll 512; admin-config 256 */
  readonly memorySize?: number | Partial<Record<FunctionName, number>>;
  /**
   * Reserved concurrent executions for every function (a number) or per function (the others
   * keep their defaults). `0` reserves nothing: that function draws from the account's unreserved
   * pool, as with no reservation at all (Lambda's own 0 would stop it). Two instances with the
   * defaults reserve 740 of the default 1,000 quota; an account with a lower quota passes `0`.
   * @default send 150, verify 150, enroll 50, admin-config 20 (RESERVED_CONCURRENCY_DEFAULTS)
   */
  readonly reservedConcurrency?: number | Partial<Record<FunctionName, number>>;
  /** Retention of the functions' and the API's log groups. @default one year for `prod`, one month otherwise */
  readonly logRetention?: RetentionDays;
  /** What happens to the table, the secrets and the log groups when they leave the stack. @default RETAIN for `prod`, DESTROY otherwise */
  readonly removalPolicy?: RemovalPolicy;
  /** Where alarms notify; none when absent. */
  readonly alarmTopic?: ITopic;
  /** The EventBridge bus every audit event is put on (source `otp-service`). @default the account's default bus */
  readonly eventBus?: IEventBus;
  /** A domain (`example.com`) or address (`no-reply@example.com`) to create an SES identity for. */
  readonly sesIdentity?: string;
  /** Serve the API on your own domain too (API Gateway custom domain name and mapping). */
  readonly customDomain?: OtpServiceCustomDomain;
  /** Stage throttling of the HTTP API. @default { burstLimit: 200, rateLimit: 100 } */
  readonly throttle?: { readonly burstLimit: number; readonly rateLimit: number };
  /** `DeliveryFailed` above this sum over 5 minutes alarms. @default 10 */
  readonly deliveryFailedThreshold?: number;
  /** `UserLocked` above this sum over 5 minutes alarms (a brute-force wave). @default 20 */
  readonly userLockedThreshold?: number;
  /** `SmsBlocked` (SMS protection's refusals, every reason) above this sum over 5 minutes alarms: a pumping wave. @default 50 */
  readonly smsBlockedThreshold?: number;
  /** A function's errors (crashes and timeouts: the service answers its faults itself) above this percentage of its invocations over 5 minutes alarms... @default 5 */
  readonly functionErrorRateThreshold?: number;
  /** ...once there are at least this many errors in those 5 minutes, so one crash at night pages nobody. @default 5 */
  readonly functionErrorsMinimum?: number;
  /** p99 of a function's duration (ms) above this in 2 of 3 periods of 5 minutes alarms, per function. @default LATENCY_P99_DEFAULTS */
  readonly latencyP99Threshold?: Partial<Record<FunctionName, number>>;
  /** `AuditWriteFailed` (audit events lost after the store's retries) above this sum over 5 minutes alarms. @default 0 */
  readonly auditWriteFailedThreshold?: number;
  /** `EventPublishFailed` (audit events EventBridge did not take) above this sum over 5 minutes alarms. @default 10 */
  readonly eventPublishFailedThreshold?: number;
  /** The table's read and write throttle events above this sum over 5 minutes alarms. @default 10 */
  readonly tableThrottleThreshold?: number;
  /** The account's SES `Reputation.BounceRate` above this (a fraction) alarms; AWS reviews an account at 5%. @default 0.05 */
  readonly sesBounceRateThreshold?: number;
  /** The account's SES `Reputation.ComplaintRate` above this (a fraction) alarms; AWS reviews an account at 0.1%. @default 0.001 */
  readonly sesComplaintRateThreshold?: number;
  /**
   * X-Ray active tracing: Lambda traces each invocation and Powertools Tracer records the AWS SDK
   * calls and the providers' HTTP requests as subsegments. Costs cold-start time (README, "Operating it").
   * @default false
   */
  readonly tracing?: boolean;
}

/** prod keeps its data and logs when the stack goes; other stages clean up after themselves. */
const removalPolicyOf = (stage: string) => (stage === "prod" ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);
const logRetentionOf = (stage: string) =>
  stage === "prod" ? RetentionDays.ONE_YEAR : RetentionDays.ONE_MONTH;

/** This package's root: the folder of `lib/` in a checkout, of `dist/lib/` once built. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`otp-service: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** The folder `npm run build` wrote for one function (`dist/functions/<name>/`), shipped in the package. */
export function prebuiltFunctionDir(name: FunctionName): string {
  const dir = join(packageRoot(), "dist", "functions", name);
  if (!existsSync(join(dir, FUNCTION_BUNDLING.outFile))) {
    throw new Error(
      `otp-service: no prebuilt Lambda code at ${dir}. In a checkout of otp-service run \`npm run build\` ` +
        "(cdk synth and npm test do it for you); an installed package ships it.",
    );
  }
  return dir;
}

interface OtpFunctionProps {
  readonly name: FunctionName;
  readonly instanceName: string;
  readonly memorySize: number;
  readonly reservedConcurrency: number | undefined;
  readonly timeout: Duration;
  readonly tracing: boolean;
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * One entry point of `functions/`, deployed from its prebuilt folder, with the defaults every
 * function shares: Node.js 22 on arm64, JSON logs into its own log group with a retention,
 * and a role that may write only to that log group.
 */
export class OtpFunction extends LambdaFunction {
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
      description: `${props.instanceName} ${props.name} function`,
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
      code: Code.fromAsset(prebuiltFunctionDir(props.name)),
      handler: "index.handler",
      runtime: Runtime.NODEJS_22_X,
      architecture: FUNCTION_ARCHITECTURE,
      memorySize: props.memorySize,
      ...(props.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrency }),
      timeout: props.timeout,
      tracing: props.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      description: `${props.instanceName} ${props.name}`,
      // No --enable-source-maps: decoding the map at every cold start costs ~90 ms; the .map ships for offline use.
      environment: props.environment,
    });
    this.otpName = props.name;
    this.executionRole = role;
  }

  /**
   * Item reads and writes on the table, nothing table-wide, each limited to the item families
   * given: IAM refuses a request whose partition key matches none of them.
   */
  grantTableItems(table: Table, access: (typeof TABLE_ACCESS)[FunctionName]): void {
    const grants = [
      [TABLE_READ_ACTIONS, access.read],
      [TABLE_WRITE_ACTIONS, access.write],
    ] as const;
    for (const [actions, families] of grants) {
      if (families.length === 0) continue;
      this.addToRolePolicy(
        new PolicyStatement({
          actions: [...actions],
          resources: [table.tableArn],
          // ForAllValues: every key the request names must match (a request names one partition key).
          conditions: {
            "ForAllValues:StringLike": { "dynamodb:LeadingKeys": families.map((f) => ITEM_FAMILIES[f]) },
          },
        }),
      );
    }
  }

  /** `resources`: secret ARNs, or an ARN pattern ending in `*` (the instance's name prefix). */
  grantSecretRead(resources: string[]): void {
    this.addToRolePolicy(new PolicyStatement({ actions: [...SECRET_READ_ACTIONS], resources }));
  }

  grantSecretDescribe(resources: string[]): void {
    this.addToRolePolicy(new PolicyStatement({ actions: [...SECRET_DESCRIBE_ACTIONS], resources }));
  }

  grantSecretWrite(resources: string[]): void {
    this.addToRolePolicy(new PolicyStatement({ actions: [...SECRET_WRITE_ACTIONS], resources }));
  }

  /** Secrets an app's config names that the stack did not create are created by the first PUT. */
  grantSecretCreate(resources: string[]): void {
    this.addToRolePolicy(new PolicyStatement({ actions: [...SECRET_CREATE_ACTIONS], resources }));
  }

  grantSendEmail(resources: string[]): void {
    this.addToRolePolicy(new PolicyStatement({ actions: ["ses:SendEmail"], resources }));
  }
}

/**
 * The whole service: HTTP API over the route table, four functions with least-privilege
 * grants, the table, the secrets, SES and the alarms. Every cdk-nag AwsSolutions finding
 * is fixed here or acknowledged with its reason.
 *
 * No physical name is fixed: CloudFormation names the table, secrets, API, configuration set,
 * functions, roles and log groups, so any number of instances fit in one account and region,
 * and a stack destroyed with its `prod` resources retained deploys again beside them (the new
 * resources get new names; the retained ones stay for you to restore from or delete).
 */
export class OtpService extends Construct {
  readonly api: HttpApi;
  readonly apiStage: HttpStage;
  /** The base URL clients call: the custom domain's when there is one, else the API's own. */
  readonly url: string;
  readonly domainName?: DomainName;
  readonly table: Table;
  readonly serviceSecret: Secret;
  readonly twilioSecret: Secret;
  readonly sinchSecret: Secret;
  readonly configurationSet: ConfigurationSet;
  readonly emailIdentity?: EmailIdentity;
  readonly functions: Record<FunctionName, OtpFunction>;
  readonly alarms: Alarm[] = [];
  /** Where the functions put audit events. */
  readonly eventBus: IEventBus;
  /** The instance's CloudWatch dashboard: traffic, outcomes, latency per route, cold starts, faults. */
  readonly dashboard: Dashboard;
  /** Unique per stack name and construct path: the instance's metrics dimension and part of its secret prefix. */
  readonly instanceId: string;
  /**
   * Secrets an app's config names (other than `twilio` and `sinch-verification-api`, which the
   * stack creates) live under this prefix; the functions may read, and admin-config create and
   * write, secrets under it and nowhere else. The same after a redeploy, so secrets set through
   * `PUT /v1/admin/secrets/{name}` (never part of the stack) are found again.
   */
  readonly secretNamePrefix: string;
  private readonly instanceName: string;

  constructor(scope: Construct, id: string, props: OtpServiceProps) {
    super(scope, id);
    const { stage } = props;
    const removalPolicy = props.removalPolicy ?? removalPolicyOf(stage);
    const logRetention = props.logRetention ?? logRetentionOf(stage);
    this.instanceName = props.instanceName ?? "otp-service";
    this.instanceId = Names.uniqueResourceName(this, { maxLength: 64, allowedSpecialCharacters: "-" });
    this.secretNamePrefix = `${this.instanceName}/${this.instanceId}/`;
    const label = `${this.instanceName} (${stage})`;

    this.table = new Table(this, "Table", {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });

    // Generated names: a retained secret of a destroyed stack never blocks the next deploy.
    this.serviceSecret = new Secret(this, "ServiceSecret", {
      description: `${label}: pepper (HMAC of codes) and the TOTP encryption key derived from it`,
      generateSecretString: {
        secretStringTemplate: "{}",
        generateStringKey: "pepper",
        passwordLength: 64,
        excludePunctuation: true,
      },
      removalPolicy,
    });
    this.twilioSecret = providerSecret(this, "TwilioSecret", "twilio", label, removalPolicy);
    this.sinchSecret = providerSecret(this, "SinchSecret", "sinch-verification-api", label, removalPolicy);
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

    this.configurationSet = new ConfigurationSet(this, "ConfigurationSet", { reputationMetrics: true });
    if (props.sesIdentity) {
      this.emailIdentity = new EmailIdentity(this, "EmailIdentity", {
        identity: props.sesIdentity.includes("@")
          ? Identity.email(props.sesIdentity)
          : Identity.domain(props.sesIdentity),
        configurationSet: this.configurationSet,
      });
    }

    this.eventBus = props.eventBus ?? EventBus.fromEventBusName(this, "DefaultEventBus", "default");

    const environment = {
      OTP_TABLE_NAME: this.table.tableName,
      OTP_EVENT_BUS_NAME: this.eventBus.eventBusName,
      OTP_SERVICE_SECRET_ID: this.serviceSecret.secretArn,
      OTP_TWILIO_SECRET_ID: this.twilioSecret.secretArn,
      OTP_SINCH_SECRET_ID: this.sinchSecret.secretArn,
      OTP_SECRET_PREFIX: this.secretNamePrefix,
      OTP_METRICS_INSTANCE: this.instanceId,
      // Read by functions/http/tracing.ts: without it the tracer is never even loaded.
      ...(props.tracing ? { OTP_TRACING: "1", POWERTOOLS_TRACE_ENABLED: "true" } : {}),
    };
    const memoryOf = (name: FunctionName): number =>
      typeof props.memorySize === "number"
        ? props.memorySize
        : (props.memorySize?.[name] ?? FUNCTION_DEFAULTS[name].memorySize);
    const reservedOf = (name: FunctionName): number | undefined => {
      const reserved =
        typeof props.reservedConcurrency === "number"
          ? props.reservedConcurrency
          : (props.reservedConcurrency?.[name] ?? RESERVED_CONCURRENCY_DEFAULTS[name]);
      return reserved === 0 ? undefined : reserved;
    };
    const fn = (name: FunctionName, id: string) =>
      new OtpFunction(this, id, {
        name,
        instanceName: label,
        memorySize: memoryOf(name),
        reservedConcurrency: reservedOf(name),
        timeout: Duration.seconds(FUNCTION_DEFAULTS[name].timeoutSeconds),
        tracing: props.tracing ?? false,
        environment,
        logRetention,
        removalPolicy,
      });
    this.functions = {
      send: fn("send", "SendFunction"),
      verify: fn("verify", "VerifyFunction"),
      enroll: fn("enroll", "EnrollFunction"),
      "admin-config": fn("admin-config", "AdminConfigFunction"),
    };
    this.grantLeastPrivilege();
    this.grantEmail();
    if (props.tracing) this.acknowledgeTracing();
    for (const f of Object.values(this.functions)) {
      Validations.of(f).acknowledge({
        id: "AwsSolutions-L1",
        reason:
          "Node.js 22 is the runtime the service is built and tested for (DESIGN.md); moving to a newer runtime " +
          "is a deliberate upgrade with its own test run, not a side effect of a deploy.",
      });
    }

    const { api, stage: apiStage } = this.httpApi(props, logRetention, removalPolicy);
    this.api = api;
    this.apiStage = apiStage;
    if (props.customDomain) {
      this.domainName = new DomainName(this, "DomainName", {
        domainName: props.customDomain.domainName,
        certificate: props.customDomain.certificate,
      });
      new ApiMapping(this, "ApiMapping", { api, domainName: this.domainName, stage: apiStage });
      this.url = `https://${props.customDomain.domainName}/`;
    } else {
      this.url = apiStage.url;
    }
    this.createAlarms(props, label);
    this.dashboard = this.createDashboard(label);
  }

  /** Explicit grants per function (SECURITY.md rule 34): only admin-config writes secrets. */
  private grantLeastPrivilege(): void {
    const { send, verify, enroll } = this.functions;
    const admin = this.functions["admin-config"];
    const providers = [this.twilioSecret.secretArn, this.sinchSecret.secretArn];
    const prefixed = Stack.of(this).formatArn({
      service: "secretsmanager",
      resource: "secret",
      resourceName: `${this.secretNamePrefix}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    for (const f of [send, verify, enroll, admin]) {
      f.grantTableItems(this.table, TABLE_ACCESS[f.otpName]);
      // Every function publishes the audit events of its requests.
      this.eventBus.grantPutEventsTo(f);
    }
    // Peppered code hashes and TOTP secrets.
    for (const f of [send, verify, enroll]) f.grantSecretRead([this.serviceSecret.secretArn]);
    // send and enroll issue codes by Twilio or Sinch; verify (and activation in enroll) reports a
    // code to Sinch; admin-config lists the secrets and sends test messages. Any of them may meet
    // a config naming another secret, which lives under the instance's prefix.
    for (const f of [send, enroll, admin]) f.grantSecretRead([...providers, prefixed]);
    verify.grantSecretRead([this.sinchSecret.secretArn, prefixed]);
    admin.grantSecretDescribe([...providers, prefixed]);
    admin.grantSecretWrite([...providers, prefixed]);
    admin.grantSecretCreate([prefixed]);
    for (const f of [send, verify, enroll, admin]) {
      Validations.of(f.executionRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArn(this, prefixed)}]`,
        reason:
          "Secrets an app's config names beyond the two the stack creates (API.md, PUT /v1/admin/secrets/{name}) " +
          "are found by name under this instance's own prefix; the wildcard covers only that prefix.",
      });
    }
  }

  private acknowledgeTracing(): void {
    for (const f of Object.values(this.functions)) {
      Validations.of(f.executionRole).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "Active tracing (prop `tracing`) lets the function send segments to X-Ray: xray:PutTraceSegments and " +
          "xray:PutTelemetryRecords have no resource type, so IAM accepts only `*` for them.",
      });
    }
  }

  /**
   * Issuing a code (send, enroll) and the admin's test message send email through SES;
   * admin-config's doctor reads the account's sending status and identities' verification.
   */
  private grantEmail(): void {
    const stack = Stack.of(this);
    const anyIdentity = stack.formatArn({ service: "ses", resource: "identity", resourceName: "*" });
    const identityArn = this.emailIdentity?.emailIdentityArn ?? anyIdentity;
    const configurationSetArn = stack.formatArn({
      service: "ses",
      resource: "configuration-set",
      resourceName: this.configurationSet.configurationSetName,
    });
    const identityWildcard = `AwsSolutions-IAM5[Resource::${nagArn(this, anyIdentity)}]`;
    const admin = this.functions["admin-config"];
    for (const f of [this.functions.send, this.functions.enroll, admin]) {
      f.grantSendEmail([identityArn, configurationSetArn]);
      if (!this.emailIdentity) {
        Validations.of(f.executionRole).acknowledge({
          id: identityWildcard,
          reason:
            "No SES identity was given (context sesIdentity), so the sender is whichever identity an app's " +
            "config names, verified outside this stack. Limited to ses:SendEmail in this account and region.",
        });
      }
    }
    admin.addToRolePolicy(new PolicyStatement({ actions: ["ses:GetAccount"], resources: ["*"] }));
    admin.addToRolePolicy(
      new PolicyStatement({ actions: ["ses:GetEmailIdentity"], resources: [anyIdentity] }),
    );
    Validations.of(admin.executionRole).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "ses:GetAccount (sandbox and sending status, for GET /v1/admin/apps/{appId}/doctor) has no resource " +
        "type: IAM accepts only `*` for it. It reads the account's SES status, nothing else.",
    });
    Validations.of(admin.executionRole).acknowledge({
      id: identityWildcard,
      reason:
        "The doctor reports whether the identity an app's from-address uses is verified; apps name any " +
        "identity of the account, so ses:GetEmailIdentity (read-only) covers identities in this account and region.",
    });
  }

  private httpApi(
    props: OtpServiceProps,
    logRetention: RetentionDays,
    removalPolicy: RemovalPolicy,
  ): { api: HttpApi; stage: HttpStage } {
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
      apiName: `${this.instanceName}-${this.instanceId}`,
      description: `${this.instanceName} (${props.stage}): multi-factor authentication`,
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
      retention: logRetention,
      removalPolicy,
    });
    const stage = new HttpStage(this, "ApiStage", {
      httpApi: api,
      stageName: "$default",
      autoDeploy: true,
      // Latency and counts per route (the dashboard), not only per API.
      detailedMetricsEnabled: true,
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

  /** A custom metric of this instance: a total, or one value of its breakdown (`dimension`). */
  private customMetric(
    metricName: string,
    options: { dimension?: Record<string, string>; statistic?: string; label?: string } = {},
  ): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { ...METRICS_DIMENSIONS, instance: this.instanceId, ...options.dimension },
      statistic: options.statistic ?? "Sum",
      period: Duration.minutes(5),
      ...(options.label ? { label: options.label } : {}),
    });
  }

  private createAlarms(props: OtpServiceProps, label: string): void {
    const period = Duration.minutes(5);
    const alarm = (
      id: string,
      metric: IMetric,
      threshold: number,
      description: string,
      periods: { evaluationPeriods: number; datapointsToAlarm: number } = {
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
      },
    ) => {
      const created = new Alarm(this, id, {
        metric,
        threshold,
        ...periods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `${label}: ${description}`,
      });
      if (props.alarmTopic) created.addAlarmAction(new SnsAction(props.alarmTopic));
      this.alarms.push(created);
    };
    const errorRate = props.functionErrorRateThreshold ?? 5;
    const errorsMinimum = props.functionErrorsMinimum ?? 5;
    for (const f of Object.values(this.functions)) {
      // A rate, not a count: "> 0" pages for one crash in a million. Below the minimum count the
      // expression is 0, so a quiet hour with two errors in three calls stays quiet too.
      alarm(
        `${f.node.id}Errors`,
        new MathExpression({
          expression: `IF(errors >= ${errorsMinimum}, 100 * errors / invocations, 0)`,
          usingMetrics: {
            errors: f.metricErrors({ period, statistic: "Sum" }),
            invocations: f.metricInvocations({ period, statistic: "Sum" }),
          },
          period,
          label: `${f.otpName} errors (% of invocations)`,
        }),
        errorRate,
        `${f.otpName} function errors above ${errorRate}% of invocations (at least ${errorsMinimum}) over 5 minutes`,
      );
      alarm(
        `${f.node.id}Throttles`,
        f.metricThrottles({ period, statistic: "Sum" }),
        0,
        `${f.otpName} function throttled (its reserved concurrency is used up: a provider hanging, or more traffic than it was sized for)`,
      );
      const p99 = props.latencyP99Threshold?.[f.otpName] ?? LATENCY_P99_DEFAULTS[f.otpName];
      alarm(
        `${f.node.id}LatencyP99`,
        f.metricDuration({ period, statistic: "p99" }),
        p99,
        `${f.otpName} function p99 duration above ${p99} ms (a provider or the table is slow)`,
        { evaluationPeriods: 3, datapointsToAlarm: 2 },
      );
    }
    alarm(
      "Api5xx",
      this.api.metricServerError({ period, statistic: "Sum" }),
      5,
      "HTTP API 5xx answers (the service itself never answers 5xx but 502/503)",
    );
    alarm(
      "DeliveryFailedAlarm",
      this.customMetric("DeliveryFailed"),
      props.deliveryFailedThreshold ?? 10,
      "codes no provider accepted",
    );
    alarm(
      "UserLockedAlarm",
      this.customMetric("UserLocked"),
      props.userLockedThreshold ?? 20,
      "users locked out (brute-force wave?)",
    );
    alarm(
      "SmsBlockedAlarm",
      this.customMetric("SmsBlocked"),
      props.smsBlockedThreshold ?? 50,
      "SMS refused by SMS protection (SMS pumping? see GET /v1/admin/apps/{appId}/sms-protection)",
    );
    // A breaker opens only when a country's SMS stop converting: rare, and worth a look every time.
    alarm(
      "SmsBreakerOpenedAlarm",
      this.customMetric("SmsBreakerOpened"),
      0,
      "SMS to a country paused by the conversion breaker (resume it from the admin view once checked)",
    );
    // The audit log is the record security relies on; a write is lost only after the SDK's retries.
    alarm(
      "AuditWriteFailedAlarm",
      this.customMetric("AuditWriteFailed"),
      props.auditWriteFailedThreshold ?? 0,
      "audit events not stored (each is in the function's log at ERROR, `audit event not stored`)",
    );
    alarm(
      "EventPublishFailedAlarm",
      this.customMetric("EventPublishFailed"),
      props.eventPublishFailedThreshold ?? 10,
      "audit events EventBridge did not take (the audit log still has them)",
    );
    alarm(
      "TableThrottlesAlarm",
      new MathExpression({
        expression: "reads + writes",
        usingMetrics: {
          reads: this.table.metric("ReadThrottleEvents", { period, statistic: "Sum" }),
          writes: this.table.metric("WriteThrottleEvents", { period, statistic: "Sum" }),
        },
        period,
        label: "table throttle events",
      }),
      props.tableThrottleThreshold ?? 10,
      "DynamoDB throttled the table's reads or writes (requests retried, then answered 503)",
    );
    // Account-wide: SES computes reputation per account and region (two instances alarm alike).
    const reputation = (metricName: string) =>
      new Metric({ namespace: "AWS/SES", metricName, statistic: "Maximum", period: Duration.minutes(15) });
    alarm(
      "SesBounceRateAlarm",
      reputation("Reputation.BounceRate"),
      props.sesBounceRateThreshold ?? 0.05,
      "SES bounce rate of the account above 5% (AWS reviews the account; check apps' senders and addresses)",
    );
    alarm(
      "SesComplaintRateAlarm",
      reputation("Reputation.ComplaintRate"),
      props.sesComplaintRateThreshold ?? 0.001,
      "SES complaint rate of the account above 0.1% (AWS reviews the account; who is being sent codes unasked?)",
    );
  }

  private createDashboard(label: string): Dashboard {
    const fns = Object.values(this.functions);
    const period = Duration.minutes(5);
    const custom = (name: string, dimension?: Record<string, string>, metricLabel?: string) =>
      this.customMetric(name, {
        ...(dimension ? { dimension } : {}),
        ...(metricLabel ? { label: metricLabel } : {}),
      });
    const cloudRoutes = routes.filter((r) => r.fn !== "local");
    const routeLatency = (statistic: "p50" | "p99") =>
      cloudRoutes.map(
        (r) =>
          new Metric({
            namespace: "AWS/ApiGateway",
            metricName: "Latency",
            dimensionsMap: { ApiId: this.api.apiId, Stage: "$default", Resource: r.path, Method: r.method },
            statistic,
            period,
            label: `${r.method} ${r.path}`,
          }),
      );
    const perFunction = (metric: (f: OtpFunction) => IMetric) => fns.map(metric);
    const dashboard = new Dashboard(this, "Dashboard", { defaultInterval: Duration.hours(3) });
    dashboard.addWidgets(
      new GraphWidget({
        title: "Codes sent by channel",
        left: [
          custom("CodeSent", undefined, "all"),
          ...CODE_CHANNELS.map((c) => custom("CodeSent", { channel: c }, c)),
        ],
      }),
      new GraphWidget({
        title: "Verifications: approved by method, denied",
        left: [
          custom("VerificationApproved", undefined, "approved"),
          ...VERIFICATION_METHODS.map((m) => custom("VerificationApproved", { method: m }, `approved: ${m}`)),
          custom("VerificationDenied", undefined, "denied"),
        ],
      }),
      new GraphWidget({
        title: "Lockouts, SMS protection, delivery",
        left: [
          custom("UserLocked", undefined, "users locked"),
          custom("SmsBlocked", undefined, "SMS blocked"),
          custom("SmsBreakerOpened", undefined, "breakers opened"),
          custom("DeliveryFailed", undefined, "delivery failed"),
        ],
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: "Latency p50 by route (ms)",
        left: routeLatency("p50"),
        width: 12,
        height: 8,
      }),
      new GraphWidget({
        title: "Latency p99 by route (ms)",
        left: routeLatency("p99"),
        width: 12,
        height: 8,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: "Cold starts",
        left: perFunction((f) => custom("ColdStart", { function_name: f.functionName }, f.otpName)),
      }),
      new GraphWidget({
        title: "Function duration p99 (ms)",
        left: perFunction((f) => f.metricDuration({ period, statistic: "p99", label: f.otpName })),
      }),
      new GraphWidget({
        title: "Function errors and throttles",
        left: perFunction((f) => f.metricErrors({ period, statistic: "Sum", label: `${f.otpName} errors` })),
        right: perFunction((f) =>
          f.metricThrottles({ period, statistic: "Sum", label: `${f.otpName} throttles` }),
        ),
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: "Audit log and events lost",
        left: [
          custom("AuditWriteFailed", undefined, "audit writes lost"),
          custom("EventPublishFailed", undefined, "events not published"),
        ],
      }),
      new GraphWidget({
        title: "Table throttle events",
        left: [
          this.table.metric("ReadThrottleEvents", { period, statistic: "Sum", label: "reads" }),
          this.table.metric("WriteThrottleEvents", { period, statistic: "Sum", label: "writes" }),
        ],
      }),
      new AlarmStatusWidget({ title: `${label}: alarms`, alarms: this.alarms }),
    );
    return dashboard;
  }
}

/** A provider secret for admins to fill: it exists from the first deploy and holds a placeholder, no credential. */
function providerSecret(
  scope: Construct,
  id: string,
  name: string,
  label: string,
  removalPolicy: RemovalPolicy,
): Secret {
  return new Secret(scope, id, {
    description: `${label}: ${name} credentials; set them with PUT /v1/admin/secrets/${name}`,
    generateSecretString: {
      secretStringTemplate: JSON.stringify({ placeholder: `set with PUT /v1/admin/secrets/${name}` }),
      generateStringKey: "nonce",
      passwordLength: 16,
      excludePunctuation: true,
    },
    removalPolicy,
  });
}

/** An ARN as cdk-nag names it in a finding: `arn:<AWS::Partition>:...` for the pseudo parameters. */
function nagArn(scope: Construct, arn: string): string {
  const resolved: unknown = Stack.of(scope).resolve(arn);
  if (typeof resolved === "string") return resolved;
  const [, parts] = (resolved as { "Fn::Join": [string, unknown[]] })["Fn::Join"];
  return parts
    .map((part) => (typeof part === "string" ? part : `<${(part as { Ref: string }).Ref}>`))
    .join("");
}
