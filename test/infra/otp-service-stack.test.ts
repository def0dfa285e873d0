import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, posix } from "node:path";
import { pathToFileURL } from "node:url";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { SECRET_READ_ACTIONS, TABLE_ITEM_ACTIONS } from "#lib/otp-service";
import { OtpServiceStack } from "#lib/otp-service-stack";
import { type FunctionName, routes } from "#lib/routes";
import { TABLE_KEYS } from "#lib/table";

type Resource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

const FUNCTION_NAMES: FunctionName[] = ["send", "verify", "enroll", "admin-config"];
const cloudRoutes = routes.filter((r) => r.fn !== "local");
const localRoutes = routes.filter((r) => r.fn === "local");

let stack: OtpServiceStack;
let template: Template;
let resources: Record<string, Resource>;
/** Logical ids of the things grants and references point at. */
let ids: Record<"table" | "serviceSecret" | "twilioSecret" | "sinchSecret", string>;
let functionIds: Record<FunctionName, string>;
/** The ARN pattern of the secrets an app's config may name: the instance's prefix and nothing else. */
let prefixedSecrets: string;

const ofType = (type: string): [string, Resource][] =>
  Object.entries(resources).filter(([, r]) => r.Type === type);

const refId = (value: unknown): string | undefined => {
  const v = value as { Ref?: string; "Fn::GetAtt"?: [string, string] };
  return v?.Ref ?? v?.["Fn::GetAtt"]?.[0];
};

/** An ARN built with Fn::Join, as text: pseudo parameters and references as `<Name>`. */
const arnText = (value: unknown): string => {
  const join = (value as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"];
  if (!join) return JSON.stringify(value);
  return join[1].map((p) => (typeof p === "string" ? p : `<${refId(p) ?? JSON.stringify(p)}>`)).join("");
};

const propsOf = (fn: FunctionName): Record<string, unknown> =>
  (resources[functionIds[fn]] as Resource).Properties;

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** Every statement of the role a function runs as: inline policies and attached policies. */
function statementsOf(fn: FunctionName): Statement[] {
  const roleId = refId(propsOf(fn).Role);
  expect(roleId).toBeDefined();
  const role = resources[roleId as string] as Resource;
  const inline = (
    (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]
  ).flatMap((p) => p.PolicyDocument.Statement);
  const attached = ofType("AWS::IAM::Policy")
    .filter(([, p]) => (p.Properties.Roles as unknown[]).some((r) => refId(r) === roleId))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  return [...inline, ...attached];
}

/** action → logical ids (or rendered ARNs) of the resources it is allowed on. */
function grantsOf(fn: FunctionName): Record<string, string[]> {
  const grants: Record<string, string[]> = {};
  for (const s of statementsOf(fn)) {
    expect(s.Effect).toBe("Allow");
    for (const action of actionsOf(s)) {
      const list = grants[action] ?? [];
      for (const r of resourcesOf(s)) list.push(refId(r) ?? (typeof r === "string" ? r : arnText(r)));
      grants[action] = [...new Set(list)].sort();
    }
  }
  return grants;
}

let assemblyDir: string;

beforeAll(() => {
  const app = new App();
  stack = new OtpServiceStack(app, "OtpService-dev", { stage: "dev" });
  assemblyDir = app.synth().directory;
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
  const { service } = stack;
  const logicalId = (c: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(c.node.defaultChild as CfnFunction);
  ids = {
    table: logicalId(service.table),
    serviceSecret: logicalId(service.serviceSecret),
    twilioSecret: logicalId(service.twilioSecret),
    sinchSecret: logicalId(service.sinchSecret),
  };
  prefixedSecrets = `arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${service.secretNamePrefix}*`;
  functionIds = Object.fromEntries(
    FUNCTION_NAMES.map((name) => [name, logicalId(service.functions[name])]),
  ) as Record<FunctionName, string>;
  // Synthesis copies the four prebuilt functions (~10 MB each) into the assembly.
}, 120_000);

describe("HTTP API", () => {
  const routeByKey = (key: string) =>
    ofType("AWS::ApiGatewayV2::Route").find(([, r]) => r.Properties.RouteKey === key);
  const functionBehind = (route: Resource): string | undefined => {
    const target = route.Properties.Target as { "Fn::Join": [string, unknown[]] };
    const integration = resources[refId(target["Fn::Join"][1][1]) as string];
    return refId(integration?.Properties.IntegrationUri);
  };

  it.each(cloudRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))(
    "routes %s to its function with the route's authorization",
    (key, route) => {
      const found = routeByKey(key);
      expect(found, key).toBeDefined();
      const [, resource] = found as [string, Resource];
      expect(functionBehind(resource)).toBe(functionIds[route.fn as FunctionName]);
      expect(resource.Properties.AuthorizationType).toBe(route.auth === "admin" ? "AWS_IAM" : "NONE");
    },
  );

  it("serves no local-only route and nothing beyond the route table and $default", () => {
    const keys = ofType("AWS::ApiGatewayV2::Route").map(([, r]) => r.Properties.RouteKey);
    for (const r of localRoutes) expect(keys).not.toContain(`${r.method} ${r.path}`);
    expect(keys.some((k) => String(k).includes("/dev/"))).toBe(false);
    expect(keys.sort()).toEqual([...cloudRoutes.map((r) => `${r.method} ${r.path}`), "$default"].sort());
  });

  it("sends unknown paths ($default) to admin-config without authorization, for its problem+json 404/405", () => {
    const [, route] = routeByKey("$default") as [string, Resource];
    expect(functionBehind(route)).toBe(functionIds["admin-config"]);
    expect(route.Properties.AuthorizationType).toBe("NONE");
  });

  it("throttles the $default stage and writes JSON access logs to a log group with retention", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 200, ThrottlingRateLimit: 100 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp("^\\{.*\\}$") },
    });
    const [, stage] = ofType("AWS::ApiGatewayV2::Stage")[0] as [string, Resource];
    const settings = stage.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toMatchObject({ requestId: "$context.requestId", status: "$context.status" });
    expect(Object.values(format).some((v) => /querystring|body|header/i.test(v))).toBe(false);
    const logGroup = resources[refId(settings.DestinationArn) as string];
    expect(logGroup?.Type).toBe("AWS::Logs::LogGroup");
    expect(logGroup?.Properties.RetentionInDays).toBe(30);
  });
});

describe("functions", () => {
  it.each(FUNCTION_NAMES)("%s runs Node.js 22 on arm64 with JSON logs to its own log group", (name) => {
    const fn = resources[functionIds[name]] as Resource;
    expect(fn.Properties).toMatchObject({
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
      LoggingConfig: { LogFormat: "JSON" },
    });
    const logGroup =
      resources[refId((fn.Properties.LoggingConfig as { LogGroup: unknown }).LogGroup) as string];
    expect(logGroup?.Properties.RetentionInDays).toBe(30);
  });

  it.each(FUNCTION_NAMES)("the entry point of %s exports the handler the stack names", async (name) => {
    const entry = (await import(`../../functions/${name}.ts`)) as { handler?: unknown };
    expect(typeof entry.handler).toBe("function");
  });

  it("sizes memory and timeouts per function (send waits for a provider and its fallback)", () => {
    expect(propsOf("send")).toMatchObject({ MemorySize: 512, Timeout: 15 });
    expect(propsOf("verify")).toMatchObject({ MemorySize: 512, Timeout: 10 });
    expect(propsOf("enroll")).toMatchObject({ MemorySize: 512, Timeout: 10 });
    expect(propsOf("admin-config")).toMatchObject({ MemorySize: 256, Timeout: 15 });
  });

  it.each(FUNCTION_NAMES)(
    "%s ships twilio beside the handler, not in it, so a cold start never parses it",
    async (name) => {
      const code = propsOf(name).Code as { S3Key: string };
      const dir = join(assemblyDir, `asset.${code.S3Key.replace(/\.zip$/, "")}`);
      const handler = readFileSync(join(dir, "index.mjs"), "utf8");
      expect(handler).not.toContain("RestException");
      expect(handler.length).toBeLessThan(2 * 1024 * 1024);
      const twilio = createRequire(import.meta.url)(join(dir, "node_modules", "twilio")) as {
        RequestClient?: unknown;
      };
      expect(typeof twilio.RequestClient).toBe("function");
    },
  );

  it.each(FUNCTION_NAMES)(
    "%s ships @simplewebauthn/server beside the handler, imported only by a WebAuthn request",
    async (name) => {
      const code = propsOf(name).Code as { S3Key: string };
      const dir = join(assemblyDir, `asset.${code.S3Key.replace(/\.zip$/, "")}`);
      const handler = readFileSync(join(dir, "index.mjs"), "utf8");
      expect(handler).not.toContain("Unexpected registration response type");
      const shipped = join(dir, "node_modules", "@simplewebauthn", "server", "index.mjs");
      const library = (await import(pathToFileURL(shipped).href)) as Record<string, unknown>;
      expect(typeof library.verifyRegistrationResponse).toBe("function");
      expect(typeof library.verifyAuthenticationResponse).toBe("function");
      expect(typeof library.generateAuthenticationOptions).toBe("function");
    },
  );

  it.each(FUNCTION_NAMES)(
    "%s ships Powertools Tracer beside the handler, imported only when tracing is on",
    async (name) => {
      const code = propsOf(name).Code as { S3Key: string };
      const dir = join(assemblyDir, `asset.${code.S3Key.replace(/\.zip$/, "")}`);
      const handler = readFileSync(join(dir, "index.mjs"), "utf8");
      // The X-Ray SDK's middleware name: none of the tracer's code is in the handler's bundle...
      expect(handler).not.toContain("XRaySDKInstrumentation");
      // ...only the import() that functions/http/tracing.ts runs when OTP_TRACING=1.
      expect(handler).toContain('import("@aws-lambda-powertools/tracer")');
      const shipped = join(dir, "node_modules", "@aws-lambda-powertools", "tracer", "index.mjs");
      const library = (await import(pathToFileURL(shipped).href)) as Record<string, unknown>;
      expect(typeof library.Tracer).toBe("function");
    },
  );

  /** The handler's file and the chunks it imports statically (transitively): what a cold start parses. */
  const parsedAtImport = (dir: string): string[] => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(join(dir, file), "utf8");
      // Minified static imports, relative to the importing file: `import{a as b}from"./chunks/x.mjs"` in the
      // handler, `from"./chunk-y.mjs"` between chunks, or `import"./x.mjs"`; `import(` is lazy and not followed.
      for (const m of text.matchAll(/(?:from|import)\s*"(\.\.?\/[^"]+\.mjs)"/g)) {
        visit(posix.join(posix.dirname(file), m[1] ?? ""));
      }
    };
    visit("index.mjs");
    return [...seen];
  };
  const sourcesOf = (dir: string, files: string[]): string[] =>
    files.flatMap(
      (file) => (JSON.parse(readFileSync(join(dir, `${file}.map`), "utf8")) as { sources: string[] }).sources,
    );

  it.each(FUNCTION_NAMES)(
    "%s parses at import only what every request needs: numbering plans, QR codes, otplib, SES and the OpenAPI document are lazy chunks",
    (name) => {
      const code = propsOf(name).Code as { S3Key: string };
      const dir = join(assemblyDir, `asset.${code.S3Key.replace(/\.zip$/, "")}`);
      const atImport = parsedAtImport(dir);
      expect(atImport.length).toBeGreaterThan(1);
      const sources = sourcesOf(dir, atImport);
      expect(sources.some((s) => s.includes("functions/http/handler.ts"))).toBe(true);
      for (const lazy of [
        "libphonenumber-js",
        "node_modules/qrcode",
        "otplib",
        "client-sesv2",
        "zod/v4/classic",
        // JSON Schema is the OpenAPI document's business, built at build time.
        "zod/v4/core/to-json-schema",
        "zod/v4/core/json-schema-processors",
      ]) {
        expect(
          sources.filter((s) => s.includes(lazy)),
          `${name}: ${lazy} at import`,
        ).toEqual([]);
      }
      const chunks = readdirSync(join(dir, "chunks")).filter((f) => f.endsWith(".mjs"));
      const lazySources = sourcesOf(
        dir,
        chunks.map((f) => `chunks/${f}`).filter((f) => !atImport.includes(f)),
      );
      // Shipped beside it for the requests that need them.
      if (name !== "verify") expect(lazySources.some((s) => s.includes("libphonenumber-js"))).toBe(true);
      // The OpenAPI document ships as data: no zod reaches a Lambda but zod/mini.
      expect(lazySources.filter((s) => s.includes("zod/v4/classic"))).toEqual([]);
      if (name === "send") expect(lazySources.some((s) => s.includes("client-sesv2"))).toBe(true);
    },
  );

  it("admin-config serves the OpenAPI document built into its asset, the same the source builds", async () => {
    const code = propsOf("admin-config").Code as { S3Key: string };
    const dir = join(assemblyDir, `asset.${code.S3Key.replace(/\.zip$/, "")}`);
    const saved = { ...process.env };
    Object.assign(process.env, {
      OTP_TABLE_NAME: "otp-service-infra-test",
      OTP_SERVICE_SECRET_ID: "otp-service/infra-test/service",
      AWS_REGION: "us-east-1",
      POWERTOOLS_LOG_LEVEL: "SILENT",
    });
    try {
      const { handler } = (await import(pathToFileURL(join(dir, "index.mjs")).href)) as {
        handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
      };
      const origin = { domainName: "abc123.execute-api.eu-west-1.amazonaws.com", stage: "prod" };
      const response = await handler(
        {
          version: "2.0",
          routeKey: "GET /openapi.json",
          rawPath: "/prod/openapi.json",
          headers: { host: origin.domainName, "x-forwarded-proto": "https" },
          requestContext: {
            ...origin,
            requestId: "infra-test",
            http: { method: "GET", path: "/prod/openapi.json", sourceIp: "127.0.0.1" },
          },
          isBase64Encoded: false,
        },
        { awsRequestId: "infra-test", functionName: "admin-config", getRemainingTimeInMillis: () => 10_000 },
      );
      expect(response.statusCode).toBe(200);
      const { openApiDocument } = await import("#http/openapi");
      expect(JSON.parse(response.body)).toEqual(
        openApiDocument({ ...origin, rawPath: "/prod/openapi.json", proto: "https" }),
      );
    } finally {
      process.env = saved;
    }
  });

  it.each(FUNCTION_NAMES)(
    "%s's chunks load on their own, CommonJS ones included (qrcode renders)",
    async (name) => {
      const code = propsOf(name).Code as { S3Key: string };
      const dir = join(assemblyDir, `asset.${code.S3Key.replace(/\.zip$/, "")}`);
      const chunks = readdirSync(join(dir, "chunks")).filter((f) => f.endsWith(".mjs"));
      let rendered = false;
      for (const chunk of chunks) {
        const module = (await import(pathToFileURL(join(dir, "chunks", chunk)).href)) as Record<
          string,
          unknown
        >;
        for (const value of Object.values(module)) {
          const qrcode = value as { toDataURL?: (text: string) => Promise<string> } | null;
          if (typeof qrcode?.toDataURL === "function") {
            // pngjs needs zlib through `require`: the build's banner must be in every chunk.
            expect(await qrcode.toDataURL("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP")).toMatch(
              /^data:image\/png;base64,/,
            );
            rendered = true;
          }
        }
      }
      expect(rendered).toBe(true);
    },
  );

  it.each(FUNCTION_NAMES)(
    "%s gets names and references of secrets in its environment, never values",
    (name) => {
      const env = (propsOf(name).Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(env).sort()).toEqual(
        [
          "OTP_EVENT_BUS_NAME",
          "OTP_METRICS_INSTANCE",
          "OTP_SECRET_PREFIX",
          "OTP_SERVICE_SECRET_ID",
          "OTP_SINCH_SECRET_ID",
          "OTP_TABLE_NAME",
          "OTP_TWILIO_SECRET_ID",
        ].sort(),
      );
      expect(env.OTP_TABLE_NAME).toEqual({ Ref: ids.table });
      expect(env.OTP_SERVICE_SECRET_ID).toEqual({ Ref: ids.serviceSecret });
      expect(env.OTP_TWILIO_SECRET_ID).toEqual({ Ref: ids.twilioSecret });
      expect(env.OTP_SINCH_SECRET_ID).toEqual({ Ref: ids.sinchSecret });
      // Unique per stack name and construct path, the same on every deploy of this stack.
      expect(env.OTP_SECRET_PREFIX).toBe(`otp-service/${stack.service.instanceId}/`);
      expect(env.OTP_SECRET_PREFIX).toMatch(/^otp-service\/OtpService-devOtpService[0-9A-F]{8}\/$/);
      expect(env.OTP_METRICS_INSTANCE).toBe(stack.service.instanceId);
      expect(env.OTP_EVENT_BUS_NAME).toBe("default");
      // no --enable-source-maps: it would decode the source map at every cold start
      expect(env.NODE_OPTIONS).toBeUndefined();
    },
  );

  it("puts no secret value in the template: secrets are generated by Secrets Manager", () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/"SecretString"\s*:/);
    expect(text).not.toMatch(/SecretsManager::SecretTargetAttachment|resolve:secretsmanager/);
  });
});

describe("least privilege", () => {
  const dynamo = [...TABLE_ITEM_ACTIONS].sort();

  it("grants on the table exactly the DynamoDB calls the store makes", () => {
    const source = readFileSync(
      new URL("../../functions/adapters/dynamodb-store.ts", import.meta.url),
      "utf8",
    );
    const iamAction: Record<string, string> = {
      Get: "GetItem",
      Put: "PutItem",
      Update: "UpdateItem",
      Delete: "DeleteItem",
      Query: "Query",
      Scan: "Scan",
      BatchWrite: "BatchWriteItem",
      BatchGet: "BatchGetItem",
      TransactWrite: "TransactWriteItems (grant the item actions and ConditionCheckItem)",
      TransactGet: "TransactGetItems (grant GetItem)",
    };
    const used = [...source.matchAll(/new (\w+)Command\(/g)].map(
      ([, name]) => `dynamodb:${iamAction[name as string] ?? `${name} (unmapped)`}`,
    );
    expect([...new Set(used)].sort()).toEqual(dynamo);
  });

  it("no policy grants Scan, dynamodb:* or any action wildcard", () => {
    const all = FUNCTION_NAMES.flatMap((fn) => statementsOf(fn).flatMap(actionsOf));
    const everyPolicy = ofType("AWS::IAM::Policy").flatMap(([, p]) =>
      (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement.flatMap(actionsOf),
    );
    for (const action of [...all, ...everyPolicy]) {
      expect(action).not.toBe("dynamodb:Scan");
      expect(action).not.toContain("*");
    }
    expect(
      ofType("AWS::IAM::Role").flatMap(([, r]) => (r.Properties.ManagedPolicyArns as unknown[]) ?? []),
    ).toEqual([]);
  });

  it("only admin-config may write or create secrets: the two provider secrets and names under the instance's prefix", () => {
    const writers = ofType("AWS::IAM::Policy").filter(([, p]) =>
      (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement.some((s) =>
        actionsOf(s).some(
          (a) => a === "secretsmanager:PutSecretValue" || a === "secretsmanager:CreateSecret",
        ),
      ),
    );
    expect(writers.flatMap(([, p]) => (p.Properties.Roles as unknown[]).map(refId))).toEqual([
      refId(propsOf("admin-config").Role),
    ]);
    expect(grantsOf("admin-config")["secretsmanager:PutSecretValue"]).toEqual(
      [ids.twilioSecret, ids.sinchSecret, prefixedSecrets].sort(),
    );
    expect(grantsOf("admin-config")["secretsmanager:CreateSecret"]).toEqual([prefixedSecrets]);
    for (const fn of ["send", "verify", "enroll"] as const) {
      expect(Object.keys(grantsOf(fn)).filter((a) => a.startsWith("secretsmanager:"))).toEqual([
        ...SECRET_READ_ACTIONS,
      ]);
    }
  });

  it("grants each function exactly the actions its use cases need", () => {
    const table = [ids.table];
    const read = (...secrets: string[]) => ({ "secretsmanager:GetSecretValue": secrets.sort() });
    const logs = (fn: FunctionName) => grantsOf(fn)["logs:CreateLogStream"] as string[];
    const withoutLogs = (fn: FunctionName) => {
      const { "logs:CreateLogStream": _c, "logs:PutLogEvents": _p, ...rest } = grantsOf(fn);
      return rest;
    };
    const ses = expect.arrayContaining([expect.stringContaining("configuration-set/")]);
    // Every DynamoDB action on the table alone; which items each may touch is operations.test.ts's.
    const dynamoGrants = {
      ...Object.fromEntries(dynamo.map((a) => [a, table])),
      // Audit events go to the account's default bus, and to no other.
      "events:PutEvents": ["arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/default"],
    };

    const anyIdentity = "arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*";

    expect(withoutLogs("send")).toEqual({
      ...dynamoGrants,
      ...read(ids.serviceSecret, ids.twilioSecret, ids.sinchSecret, prefixedSecrets),
      "ses:SendEmail": ses,
    });
    expect(withoutLogs("enroll")).toEqual({
      ...dynamoGrants,
      ...read(ids.serviceSecret, ids.twilioSecret, ids.sinchSecret, prefixedSecrets),
      "ses:SendEmail": ses,
    });
    expect(withoutLogs("verify")).toEqual({
      ...dynamoGrants,
      ...read(ids.serviceSecret, ids.sinchSecret, prefixedSecrets),
    });
    expect(withoutLogs("admin-config")).toEqual({
      ...dynamoGrants,
      ...read(ids.twilioSecret, ids.sinchSecret, prefixedSecrets),
      "secretsmanager:DescribeSecret": [ids.sinchSecret, ids.twilioSecret, prefixedSecrets].sort(),
      "secretsmanager:PutSecretValue": [ids.sinchSecret, ids.twilioSecret, prefixedSecrets].sort(),
      "secretsmanager:CreateSecret": [prefixedSecrets],
      "ses:SendEmail": ses,
      // The doctor: sandbox and sending status (no resource type exists), and identities' verification.
      "ses:GetAccount": ["*"],
      "ses:GetEmailIdentity": [anyIdentity],
    });
    for (const fn of FUNCTION_NAMES) {
      const logGroupId = refId((propsOf(fn).LoggingConfig as { LogGroup: unknown }).LogGroup);
      expect(logs(fn)).toEqual([logGroupId]);
    }
  });
});

describe("table", () => {
  it("keys on pk/sk, bills on demand, expires items by ttl and keeps point-in-time recovery", () => {
    template.resourceCountIs("AWS::DynamoDB::Table", 1);
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [
        { AttributeName: TABLE_KEYS.partitionKey, KeyType: "HASH" },
        { AttributeName: TABLE_KEYS.sortKey, KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: TABLE_KEYS.partitionKey, AttributeType: "S" },
        { AttributeName: TABLE_KEYS.sortKey, AttributeType: "S" },
      ],
      BillingMode: "PAY_PER_REQUEST",
      TimeToLiveSpecification: { AttributeName: TABLE_KEYS.ttlAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      GlobalSecondaryIndexes: Match.absent(),
    });
    template.resourceCountIs("AWS::DynamoDB::GlobalTable", 0);
  });

  it("is destroyed with a non-prod stack", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Delete",
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
  });
});

describe("secrets and SES", () => {
  it("generates the service secret's pepper and creates placeholder provider secrets, all with generated names", () => {
    template.resourceCountIs("AWS::SecretsManager::Secret", 3);
    for (const [, secret] of ofType("AWS::SecretsManager::Secret")) {
      // No fixed name: a secret retained from a destroyed stack never blocks the next deploy.
      expect(secret.Properties.Name).toBeUndefined();
    }
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      Description: Match.stringLikeRegexp("pepper"),
      GenerateSecretString: {
        SecretStringTemplate: "{}",
        GenerateStringKey: "pepper",
        PasswordLength: 64,
        ExcludePunctuation: true,
      },
    });
    for (const name of ["twilio", "sinch-verification-api"]) {
      template.hasResourceProperties("AWS::SecretsManager::Secret", {
        Description: Match.stringLikeRegexp(`PUT /v1/admin/secrets/${name}$`),
        GenerateSecretString: Match.objectLike({
          SecretStringTemplate: Match.stringLikeRegexp('"placeholder"'),
        }),
      });
    }
  });

  it("creates a configuration set, and no identity unless context names one", () => {
    template.resourceCountIs("AWS::SES::ConfigurationSet", 1);
    template.resourceCountIs("AWS::SES::EmailIdentity", 0);
  });
});

describe("alarms", () => {
  const alarms = () =>
    ofType("AWS::CloudWatch::Alarm").map(([, a]) => a.Properties as Record<string, unknown>);

  it("alarms on each function's throttles and duration, API 5xx, delivery failures, lockouts and SMS protection", () => {
    // Function errors (a rate), the table and SES alarm on metric math or account metrics: operations.test.ts.
    const names = alarms()
      .filter((a) => a.MetricName !== undefined)
      .map((a) => `${a.Namespace}/${a.MetricName}`)
      .sort();
    expect(names).toEqual(
      [
        ...FUNCTION_NAMES.flatMap(() => ["AWS/Lambda/Duration", "AWS/Lambda/Throttles"]),
        "AWS/ApiGateway/5xx",
        "AWS/SES/Reputation.BounceRate",
        "AWS/SES/Reputation.ComplaintRate",
        "OtpService/AuditWriteFailed",
        "OtpService/DeliveryFailed",
        "OtpService/EventPublishFailed",
        "OtpService/SmsBlocked",
        "OtpService/SmsBreakerOpened",
        "OtpService/UserLocked",
      ].sort(),
    );
    for (const fn of FUNCTION_NAMES) {
      for (const metric of ["Duration", "Throttles"]) {
        expect(
          alarms().filter(
            (a) =>
              a.MetricName === metric &&
              JSON.stringify(a.Dimensions) ===
                JSON.stringify([{ Name: "FunctionName", Value: { Ref: functionIds[fn] } }]),
          ),
          `${fn} ${metric}`,
        ).toHaveLength(1);
      }
    }
  });

  it("watches the custom metrics as sums over 5 minutes with service=otp-service and this instance, missing data not breaching", () => {
    for (const metric of [
      "DeliveryFailed",
      "UserLocked",
      "SmsBlocked",
      "SmsBreakerOpened",
      "AuditWriteFailed",
      "EventPublishFailed",
    ]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "OtpService",
        MetricName: metric,
        Dimensions: [
          { Name: "instance", Value: stack.service.instanceId },
          { Name: "service", Value: "otp-service" },
        ],
        Statistic: "Sum",
        Period: 300,
        ComparisonOperator: "GreaterThanThreshold",
        TreatMissingData: "notBreaching",
      });
    }
    for (const alarm of alarms()) expect(alarm.TreatMissingData).toBe("notBreaching");
  });
});

describe("outputs", () => {
  it("exports the API URL, table name and secret names", () => {
    const outputs = template.toJSON().Outputs as Record<string, unknown>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        "ApiUrl",
        "TableName",
        "ServiceSecretName",
        "TwilioSecretName",
        "SinchSecretName",
      ]),
    );
    expect(outputs.TableName).toMatchObject({ Value: { Ref: ids.table } });
    expect(outputs.SecretNamePrefix).toMatchObject({ Value: stack.service.secretNamePrefix });
  });

  it("outputs the API URL under ApiUrl and the next command, which finds stack OtpService-dev by its stage", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.NextStep?.Value).toBe("npm run admin -- init --stage dev");
    const url = JSON.stringify(outputs.ApiUrl?.Value);
    expect(url).toContain("execute-api");
    const [apiId] = ofType("AWS::ApiGatewayV2::Api")[0] as [string, Resource];
    expect(url).toContain(`{"Ref":"${apiId}"}`);
  });
});
