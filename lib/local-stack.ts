import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { LocalDeliverySetup } from "#adapters/delivery-setup/local-delivery-setup";
import { DynamoAudit } from "#adapters/dynamodb-audit";
import { DynamoIdempotency } from "#adapters/dynamodb-idempotency";
import { DynamoSmsCounters } from "#adapters/dynamodb-sms-counters";
import { DynamoStore } from "#adapters/dynamodb-store";
import { FileSecrets } from "#adapters/file-secrets";
import { OffsetClock } from "#adapters/offset-clock";
import { Outbox, type OutboxMessage } from "#adapters/providers/outbox/outbox";
import { createLocalProviders } from "#adapters/providers/outbox/provider";
import { chooseProviders, offeredNames } from "#adapters/providers/registry";
import { createSesEmail } from "#adapters/providers/ses/provider";
import { createSinchVerification } from "#adapters/providers/sinch/provider";
import { createTwilioSms } from "#adapters/providers/twilio/provider";
import { sha256Hex } from "#core/codes";
import type { AppConfig } from "#core/config";
import { invalidRequest } from "#core/errors";
import { createApp } from "#core/use-cases/create-app";
import type { HandlerDeps } from "#http/deps";
import { createHandler, json } from "#http/handler";
import type { Log } from "#http/log";
import { adminRoutes } from "../functions/admin-config.ts";
import { enrollRoutes } from "../functions/enroll.ts";
import { sendRoutes } from "../functions/send.ts";
import { verifyRoutes } from "../functions/verify.ts";
import { consoleRoute } from "./local-console.ts";
import { demoOrigin, demoRoute, ensureLocalWebauthn, withLocalWebauthn } from "./local-demo.ts";
import { LocalEventBus } from "./local-event-bus.ts";
import { readableLine } from "./local-log.ts";
import { createLocalServer, type LambdaHandler, type LocalRouteHandler, listen } from "./local-server.ts";
import { ensureTable, LOCAL_AWS, type LocalService, startDynalite, startSesLocal } from "./local-services.ts";
import type { FunctionName, Route } from "./routes.ts";

export const TABLE_NAME = "otp-service";
export const DEFAULT_APP_ID = "default";

/**
 * The default app's own from-address and sender, so `npm start` delivers out of the box: the
 * local SES and the outbox take any. `.localhost` is a reserved name (RFC 6761) that no real
 * mail server accepts; +15005550006 is the sender Twilio's test credentials accept.
 */
export const LOCAL_FROM_ADDRESS = "no-reply@otp-service.localhost";
export const LOCAL_SMS_SENDER = "+15005550006";

const withLocalDelivery = (config: AppConfig): AppConfig => ({
  ...config,
  email: { ...config.email, fromAddress: LOCAL_FROM_ADDRESS },
  sms: { ...config.sms, defaultSender: LOCAL_SMS_SENDER },
});

export interface LocalCredentials {
  baseUrl: string;
  appId: string;
  apiKey: string;
  adminToken: string;
}

export interface LocalStackOptions {
  /** Where data, secrets and credentials live (`.local/` by default). */
  dir: string;
  port: number;
  host?: string;
  /** Keep DynamoDB data on disk under `dir` (the default); tests run in memory. */
  persist?: boolean;
  /** Where outbox messages are echoed (the terminal for `npm start`). */
  print?: (line: string) => void;
  /** Where log entries go: the same the Lambdas give Powertools Logger (`npm start` prints them readable). */
  log?: Log;
  /** Where the Twilio adapter sends (a fake Twilio in tests); defaults to `OTP_TWILIO_API_URL`, else Twilio itself. */
  twilioApiUrl?: string;
}

export interface LocalStack {
  url: string;
  /** The four Lambda handlers, as the local server calls them. */
  handlers: Record<FunctionName, LambdaHandler>;
  credentials: LocalCredentials;
  deps: HandlerDeps;
  clock: OffsetClock;
  outbox: Outbox;
  dynamoEndpoint: string;
  sesEndpoint: string;
  outboxMessages(to?: string): Promise<OutboxMessage[]>;
  stop(): Promise<void>;
}

/**
 * `npm start`: dynalite and aws-ses-v2-local as child processes, the real handlers behind a
 * node:http server, and on first start app `default` with an API key and an admin token.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const services: LocalService[] = [];
  let server: Server | undefined;
  const stop = async () => {
    await new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
    await Promise.all(services.map((s) => s.stop()));
  };
  try {
    // Claim the port first: a port in use must be the first and only complaint.
    let serve: ReturnType<typeof createLocalServer> | undefined;
    server = createServer((req, res) => {
      if (serve) serve.emit("request", req, res);
      else res.writeHead(503, { "retry-after": "1" }).end();
    });
    const host = options.host ?? "127.0.0.1";
    const port = await listen(server, options.port, host);
    const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;

    const [dynamo, ses] = await Promise.all([
      startDynalite(options.persist === false ? undefined : join(options.dir, "dynamodb")),
      startSesLocal(),
    ]);
    services.push(dynamo, ses);
    await ensureTable(dynamo.url, TABLE_NAME).catch((error: unknown) => {
      throw new Error(
        `the local DynamoDB could not open its data in ${options.dir} (is another npm start using that folder?): ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    });

    const secretsPath = join(options.dir, "secrets.json");
    const adminToken = await ensureSecrets(secretsPath, join(options.dir, "admin-token"));
    const clock = new OffsetClock();
    const outbox = new Outbox({ print: options.print });
    const secrets = new FileSecrets(secretsPath);
    // The same provider choice as the cloud, over the local offer (outbox until secrets are saved).
    const offered = createLocalProviders({
      secrets,
      outbox,
      twilio: createTwilioSms({
        secrets,
        apiBaseUrl: options.twilioApiUrl ?? process.env.OTP_TWILIO_API_URL,
      }),
      // Locally a fake Sinch on 127.0.0.1 may stand in; the cloud functions never allow it.
      sinch: createSinchVerification({ secrets, allowLoopbackHttp: true }),
      ses: createSesEmail(new SESv2Client({ ...LOCAL_AWS, endpoint: ses.url })),
    });
    const providers = chooseProviders(offered);
    const documents = DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.url, maxAttempts: 2 }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    const events = new LocalEventBus();
    const deps: HandlerDeps = {
      events,
      store: new DynamoStore(documents, { tableName: TABLE_NAME }),
      audit: new DynamoAudit(documents, {
        tableName: TABLE_NAME,
        onLost: (event, error) =>
          (options.log ?? ((entry) => console.error(readableLine(entry))))({
            level: "error",
            msg: "audit event not stored",
            error,
            event,
          }),
      }),
      // The same counters as the cloud, on the local table: SMS protection behaves exactly alike.
      smsCounters: new DynamoSmsCounters(documents, { tableName: TABLE_NAME }),
      idempotency: new DynamoIdempotency(documents, { tableName: TABLE_NAME }),
      secrets,
      clock,
      ...providers,
      adminAuth: { kind: "token", tokenSha256: sha256Hex(adminToken) },
      log: options.log,
      // The local stack's provider fakes listen on 127.0.0.1; the cloud functions never allow it.
      configRules: { allowLoopbackProviderUrls: true },
      deliverySetup: new LocalDeliverySetup(offeredNames(offered)),
    };

    const getDeps = async () => deps;
    const handlers: Record<FunctionName, LambdaHandler> = {
      send: createHandler("send", sendRoutes, getDeps),
      verify: createHandler("verify", verifyRoutes, getDeps),
      enroll: createHandler("enroll", enrollRoutes, getDeps),
      "admin-config": createHandler("admin-config", adminRoutes, getDeps),
    };
    const outboxMessages = async (to?: string): Promise<OutboxMessage[]> => outbox.list(to);
    const credentials = await ensureDefaultApp(
      deps,
      join(options.dir, "credentials.json"),
      url,
      adminToken,
      demoOrigin(port),
    );
    serve = createLocalServer(
      handlers,
      (route) =>
        devRoute(route, { clock, outboxMessages, events }) ??
        demoRoute(route, { handlers, apiKey: () => credentials.apiKey }) ??
        consoleRoute(route, { handlers, adminToken: () => credentials.adminToken }),
    );
    return {
      url,
      handlers,
      credentials,
      deps,
      clock,
      outbox,
      dynamoEndpoint: dynamo.url,
      sesEndpoint: ses.url,
      outboxMessages,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The service secret (pepper) and the admin token: created once, mode 0600, reused on every start. */
async function ensureSecrets(secretsPath: string, tokenPath: string): Promise<string> {
  const existing = await readFile(secretsPath, "utf8").catch(() => undefined);
  if (!existing) {
    const secrets = { service: { pepper: randomBytes(32).toString("base64url") } };
    await writeFile(secretsPath, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  }
  await chmod(secretsPath, 0o600);
  const token = await readFile(tokenPath, "utf8").catch(() => undefined);
  if (token?.trim()) return token.trim();
  const created = `otpa_${randomBytes(32).toString("base64url")}`;
  await writeFile(tokenPath, `${created}\n`, { mode: 0o600 });
  return created;
}

async function ensureDefaultApp(
  deps: HandlerDeps,
  path: string,
  baseUrl: string,
  adminToken: string,
  webauthnOrigin: string,
): Promise<LocalCredentials> {
  const saved = await readFile(path, "utf8")
    .then((text) => JSON.parse(text) as LocalCredentials)
    .catch(() => undefined);
  let credentials: LocalCredentials;
  if (saved?.apiKey && (await deps.store.getApp(DEFAULT_APP_ID))) {
    credentials = { ...saved, baseUrl, adminToken };
    // Only the demo page needs it: a stored config it cannot update must not keep the stack from starting.
    await ensureLocalWebauthn(deps, DEFAULT_APP_ID, webauthnOrigin).catch(() => undefined);
  } else {
    const app = await createApp(deps, {
      name: "Default app",
      appId: DEFAULT_APP_ID,
      configure: (config) => withLocalDelivery(withLocalWebauthn(webauthnOrigin)(config)),
    });
    credentials = { baseUrl, appId: app.appId, apiKey: app.apiKey, adminToken };
  }
  await writeFile(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return credentials;
}

function devRoute(
  route: Route,
  ctx: {
    clock: OffsetClock;
    outboxMessages: (to?: string) => Promise<OutboxMessage[]>;
    events: LocalEventBus;
  },
): LocalRouteHandler | undefined {
  switch (`${route.method} ${route.path}`) {
    case "GET /dev/outbox":
      return async ({ query }) =>
        json(200, { messages: await ctx.outboxMessages(query.get("to") ?? undefined) });
    case "GET /dev/events":
      return async () => json(200, { events: ctx.events.list() });
    case "GET /dev/clock":
      return async () => json(200, { now: new Date(ctx.clock.now()).toISOString() });
    case "POST /dev/clock":
      return async ({ body }) => {
        let seconds: unknown;
        try {
          seconds = (JSON.parse(body) as { advanceSeconds?: unknown }).advanceSeconds;
        } catch {
          throw invalidRequest([{ path: "(body)", message: "not valid JSON" }]);
        }
        if (
          typeof seconds !== "number" ||
          !Number.isFinite(seconds) ||
          seconds < 0 ||
          seconds > 315_360_000
        ) {
          throw invalidRequest([{ path: "advanceSeconds", message: "a number of seconds, 0 to 315360000" }]);
        }
        ctx.clock.advance(seconds);
        return json(200, { now: new Date(ctx.clock.now()).toISOString() });
      };
    default:
      return undefined;
  }
}
