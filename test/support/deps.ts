import type { AddressInfo } from "node:net";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { afterAll } from "vitest";
import { DynamoIdempotency } from "#adapters/dynamodb-idempotency";
import { keys } from "#adapters/dynamodb-items";
import { DynamoSmsCounters } from "#adapters/dynamodb-sms-counters";
import { DynamoStore } from "#adapters/dynamodb-store";
import type { AppConfig } from "#core/config";
import { DomainError, ProviderError } from "#core/errors";
import type { FactorRecord, UserState } from "#core/model/user";
import type {
  Audit,
  AuditEvent,
  AuditPage,
  Clock,
  Delivery,
  Deps,
  EmailProvider,
  EpochMs,
  OutgoingEmail,
  OutgoingSms,
  SecretInfo,
  Secrets,
  ServiceSecret,
  SmsProvider,
  Store,
  VerificationProvider,
} from "#core/ports";
import { approveAttempt } from "#core/rules/attempts";
import { activateFactor } from "#core/use-cases/activate-factor";
import { getAppConfig, updateAppConfig } from "#core/use-cases/app-config";
import { createApp } from "#core/use-cases/create-app";
import { enrollFactor } from "#core/use-cases/enroll-factor";
import { LOCAL_AWS } from "#lib/local-services";
import { createTableInput } from "#lib/table";

/*
 * What the use-case tests run on: the real DynamoStore on an in-process dynalite (one per
 * test file, a fresh table per `testDeps()`), and fakes only for what is not the store: the
 * clock, secrets, the email/SMS/verification providers and the audit log.
 */

/** A clock that moves only when told. */
export class FakeClock implements Clock {
  constructor(private current: EpochMs = Date.UTC(2030, 0, 1)) {}

  now(): EpochMs {
    return this.current;
  }

  set(at: EpochMs): void {
    this.current = at;
  }

  advanceMs(ms: number): void {
    this.current += ms;
  }

  advanceSeconds(seconds: number): void {
    this.current += seconds * 1000;
  }
}

export const TEST_PEPPER = "unit-test-pepper-7f3a9c1e5b2d4086a1c3e5f7";

export const testServiceSecret = (): ServiceSecret => ({
  pepper: TEST_PEPPER,
  encryptionKeys: { k1: Buffer.alloc(32, 7).toString("base64") },
  currentKeyId: "k1",
});

/** Fixed service secret, provider secrets in a map (no cache: every read sees the latest value). */
export class MemorySecrets implements Secrets {
  private readonly provider = new Map<string, { value: Record<string, unknown>; updatedAt: EpochMs }>();
  /** Names passed to `refreshProviderSecret`, in order. */
  readonly refreshes: string[] = [];

  constructor(
    private readonly service: ServiceSecret = testServiceSecret(),
    private readonly clock: Clock = { now: () => 0 },
  ) {}

  async serviceSecret(): Promise<ServiceSecret> {
    return structuredClone(this.service);
  }

  async providerSecret(name: string): Promise<Record<string, unknown> | undefined> {
    const entry = this.provider.get(name);
    return entry ? structuredClone(entry.value) : undefined;
  }

  refreshProviderSecret(name: string): void {
    this.refreshes.push(name);
  }

  async putProviderSecret(name: string, value: Record<string, unknown>): Promise<void> {
    this.provider.set(name, { value: structuredClone(value), updatedAt: this.clock.now() });
  }

  async listProviderSecrets(names: readonly string[]): Promise<SecretInfo[]> {
    return [...new Set(names)].sort().map((name) => {
      const entry = this.provider.get(name);
      return { name, set: entry !== undefined, updatedAt: entry?.updatedAt ?? null };
    });
  }
}

/** Keeps audit events in memory; lists them newest first, like DynamoAudit. Not the store: audit has its own port. */
export class MemoryAudit implements Audit {
  readonly events: AuditEvent[] = [];

  async record(event: AuditEvent): Promise<void> {
    this.events.push(structuredClone(event));
  }

  /** Takes back the event recorded with that id (an optimistic approval whose write was refused). */
  async retract(event: AuditEvent & { id: string }): Promise<void> {
    const index = this.events.findIndex((e) => e.id === event.id);
    if (index >= 0) this.events.splice(index, 1);
  }

  async list(appId: string, query: { userId?: string; limit: number; cursor?: string }): Promise<AuditPage> {
    const matching = this.events
      .map((event, index) => ({ event, index }))
      .filter(
        ({ event }) => event.appId === appId && (query.userId === undefined || event.userId === query.userId),
      )
      .sort((a, b) => b.event.at - a.event.at || b.index - a.index);
    const start = query.cursor === undefined ? 0 : Number(query.cursor);
    const page = matching.slice(start, start + query.limit);
    const next = start + page.length;
    return {
      events: page.map(({ event }) => structuredClone(event)),
      nextCursor: next < matching.length ? String(next) : null,
    };
  }
}

export interface SentMessage {
  channel: "sms" | "email";
  to: string;
  body: string;
  subject?: string;
  html?: string;
  at: EpochMs;
}

type Behaviour = { kind: "fail"; error: ProviderError } | { kind: "hang" };

/**
 * A provider that records what it accepted. `failNext`/`failAlways` make it refuse with a
 * ProviderError; `hangNext`/`hangAlways` make it never answer.
 */
class RecordingProvider {
  /** Accepted messages, oldest first. */
  readonly sent: SentMessage[] = [];
  /** Every message handed to it, accepted or not. */
  readonly attempts: SentMessage[] = [];
  private readonly queued: Behaviour[] = [];
  private always: Behaviour | undefined;

  constructor(
    readonly channel: "sms" | "email",
    private readonly clock: Clock,
    private readonly outbox: SentMessage[],
  ) {}

  failNext(error?: ProviderError, times = 1): void {
    for (let i = 0; i < times; i++) this.queued.push({ kind: "fail", error: error ?? this.refusal() });
  }

  failAlways(error?: ProviderError): void {
    this.always = { kind: "fail", error: error ?? this.refusal() };
  }

  hangNext(): void {
    this.queued.push({ kind: "hang" });
  }

  hangAlways(): void {
    this.always = { kind: "hang" };
  }

  /** Accepts every message again. */
  recover(): void {
    this.queued.length = 0;
    this.always = undefined;
  }

  private refusal(): ProviderError {
    return new ProviderError(`fake-${this.channel}`, "500", "internal error", "unavailable");
  }

  protected deliver(message: SentMessage): Promise<Delivery> {
    this.attempts.push(message);
    const behaviour = this.queued.shift() ?? this.always;
    if (behaviour?.kind === "fail") return Promise.reject(behaviour.error);
    if (behaviour?.kind === "hang") return new Promise<never>(() => undefined);
    this.sent.push(message);
    this.outbox.push(message);
    return Promise.resolve({
      provider: `fake-${this.channel}`,
      providerMessageId: `m${this.attempts.length}`,
    });
  }

  protected stamp(): EpochMs {
    return this.clock.now();
  }
}

export class FakeEmailProvider extends RecordingProvider implements EmailProvider {
  constructor(clock: Clock, outbox: SentMessage[]) {
    super("email", clock, outbox);
  }

  sendEmail(message: OutgoingEmail): Promise<Delivery> {
    return this.deliver({
      channel: "email",
      to: message.to,
      subject: message.subject,
      body: message.text,
      html: message.html,
      at: this.stamp(),
    });
  }
}

export class FakeSmsProvider extends RecordingProvider implements SmsProvider {
  readonly kind = "message" as const;

  constructor(clock: Clock, outbox: SentMessage[]) {
    super("sms", clock, outbox);
  }

  sendSms(message: OutgoingSms, _config: AppConfig): Promise<Delivery> {
    return this.deliver({ channel: "sms", to: message.to, body: message.body, at: this.stamp() });
  }
}

/**
 * A Sinch-style provider that makes and checks its own codes. `start` "sends" a 6-digit
 * code (it lands in the outbox like an sms); `report` approves it once.
 */
export class FakeVerificationProvider implements VerificationProvider {
  readonly kind = "verification" as const;
  readonly started: { verificationId: string; to: string; code: string; used: boolean }[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly outbox: SentMessage[],
  ) {}

  async start(
    input: { to: string; locale?: string; expirySeconds: number; reference: string },
    _config: AppConfig,
  ): Promise<{ verificationId: string; provider: string }> {
    const code = String(this.started.length + 100_000).padStart(6, "0");
    const verificationId = `v${this.started.length + 1}`;
    this.started.push({ verificationId, to: input.to, code, used: false });
    this.outbox.push({
      channel: "sms",
      to: input.to,
      body: `Your verification code is ${code}`,
      at: this.clock.now(),
    });
    return { verificationId, provider: "fake-verification" };
  }

  async report(
    verificationId: string,
    code: string,
    _config: AppConfig,
  ): Promise<"approved" | "wrong_code" | "expired"> {
    const started = this.started.find((v) => v.verificationId === verificationId);
    if (!started || started.used) return "expired";
    if (started.code !== code) return "wrong_code";
    started.used = true;
    return "approved";
  }
}

// ---- the real store on dynalite --------------------------------------------------------------

interface Emulator {
  client: DynamoDBClient;
  documents: DynamoDBDocumentClient;
  close(): Promise<void>;
}

let emulator: Promise<Emulator> | undefined;
let tables = 0;

/** One in-process dynalite (in memory) per test file, started on first use. */
function startEmulator(): Promise<Emulator> {
  emulator ??= new Promise<Emulator>((resolve, reject) => {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: `http://127.0.0.1:${port}` });
      const documents = DynamoDBDocumentClient.from(client, {
        marshallOptions: { removeUndefinedValues: true },
      });
      resolve({
        client,
        documents,
        close: () =>
          new Promise<void>((done) => {
            client.destroy();
            server.close(() => done());
          }),
      });
    });
  });
  return emulator;
}

/** Stops this file's dynalite (registered as `afterAll` for every file that imports this module). */
export async function stopEmulator(): Promise<void> {
  const running = emulator;
  emulator = undefined;
  if (running) await (await running).close();
}

afterAll(stopEmulator);

/** A fresh, empty table on this file's dynalite, so each deps object sees only its own data. */
async function freshTable(emulator: Emulator): Promise<string> {
  tables += 1;
  const tableName = `otp-unit-${process.pid}-${tables}`;
  await emulator.client.send(new CreateTableCommand(createTableInput(tableName)));
  for (let i = 0; i < 100; i++) {
    const { Table } = await emulator.client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === "ACTIVE") return tableName;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`table ${tableName} never became active`);
}

/** JSON of every item, with sets spelled out (JSON.stringify would print a Set as `{}`). */
const itemsText = (items: unknown[]): string =>
  JSON.stringify(items, (_key, value: unknown) => (value instanceof Set ? [...value] : value));

// ---- the deps the use-case tests run on -------------------------------------------------------

export interface TestDeps extends Deps {
  /** The store the use cases call: the real DynamoStore, or a wrapper around it (`wrapStore`). */
  store: Store;
  /** The real DynamoStore under any wrapper. */
  dynamo: DynamoStore;
  tableName: string;
  clock: FakeClock;
  secrets: Secrets;
  emailProvider: FakeEmailProvider;
  smsProvider: FakeSmsProvider;
  verificationProvider: FakeVerificationProvider;
  audit: MemoryAudit;
  /** Every accepted message of both providers, oldest first. */
  outbox: SentMessage[];
  /** The user item as stored (a consistent read of the real table). */
  userState(appId: string, userId: string): Promise<UserState | undefined>;
  /** Every item of the table as JSON: for "nothing stored contains this secret". */
  tableText(): Promise<string>;
  /** Writes a user item as given (a fixture for condition tests; use cases never need it). */
  putUserState(appId: string, userId: string, state: UserState): Promise<void>;
  /** Approvals recorded in the audit log (a refused approval is retracted): one per session issued. */
  approvals(appId: string, userId?: string): number;
  /**
   * Creates an app through the `createApp` use case, then gives it a from-address and an SMS
   * sender as an admin would (`TEST_FROM_ADDRESS`, `TEST_SMS_SENDER`); `{ unconfigured: true }`
   * leaves the new app's config as created (neither set).
   */
  createApp(
    name?: string,
    options?: { unconfigured?: boolean },
  ): Promise<{ appId: string; apiKey: string; keyId: string }>;
  /** The code in the latest message accepted for `to`; throws when there is none. */
  latestCode(to: string): string;
  /** Reads the app's config, lets `change` edit a copy of it, and saves it through `updateAppConfig`. */
  configure(appId: string, change: (config: AppConfig) => void): Promise<AppConfig>;
  /** Enrolls a factor and activates it with the code that was sent. */
  enrollActive(input: CodeEnrollInput): Promise<{ factorId: string; recoveryCodes: string[] }>;
  /**
   * Records a successful verification of the user now (the approval rule's write), as a
   * step-up before a sensitive change. Throws when the user is locked.
   */
  stepUp(appId: string, userId: string): Promise<void>;
}

/** Enrollment of a factor that is sent a code (sms or email). */
export type CodeEnrollInput = { appId: string; userId: string; ip?: string; locale?: string } & (
  | { type: "sms"; phone: string }
  | { type: "email"; email: string }
);

export interface TestDepsOptions {
  clock?: FakeClock;
  secrets?: Secrets;
  /** Wraps the real store, e.g. to inject faults (`failingStore`). */
  wrapStore?: (store: DynamoStore) => Store;
}

export const TEST_FROM_ADDRESS = "no-reply@acme.test";
export const TEST_SMS_SENDER = "+14155550111";

/** What an admin sets before the first code can go out: a from-address and an SMS sender. */
const deliverable = (config: AppConfig): AppConfig => ({
  ...config,
  email: { ...config.email, fromAddress: TEST_FROM_ADDRESS },
  sms: { ...config.sms, defaultSender: TEST_SMS_SENDER },
});

/** Extracts the numeric code of a message body (6 to 10 digits). */
export const codeIn = (message: SentMessage): string | undefined => /\b(\d{6,10})\b/.exec(message.body)?.[1];

/**
 * Use-case dependencies on the real DynamoStore (dynalite, a fresh table each call) with fake
 * clock, secrets, providers and audit: nothing here re-implements the store.
 */
export async function testDeps(options: TestDepsOptions = {}): Promise<TestDeps> {
  const running = await startEmulator();
  const tableName = await freshTable(running);
  const dynamo = new DynamoStore(running.documents, { tableName });
  const clock = options.clock ?? new FakeClock();
  const secrets: Secrets = options.secrets ?? new MemorySecrets(testServiceSecret(), clock);
  const outbox: SentMessage[] = [];
  const emailProvider = new FakeEmailProvider(clock, outbox);
  const smsProvider = new FakeSmsProvider(clock, outbox);
  const verificationProvider = new FakeVerificationProvider(clock, outbox);
  const audit = new MemoryAudit();
  let apps = 0;

  const deps: TestDeps = {
    store: options.wrapStore ? options.wrapStore(dynamo) : dynamo,
    dynamo,
    tableName,
    clock,
    secrets,
    email: () => emailProvider,
    // As the config selects: `sinch` makes and checks its own codes.
    sms: (config) => (config.sms.provider === "sinch" ? verificationProvider : smsProvider),
    smsVerification: () => verificationProvider,
    audit,
    smsCounters: new DynamoSmsCounters(running.documents, { tableName }),
    idempotency: new DynamoIdempotency(running.documents, { tableName }),
    emailProvider,
    smsProvider,
    verificationProvider,
    outbox,
    userState: (appId, userId) => dynamo.getUserState(appId, userId),
    tableText: async () => {
      const items: unknown[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await running.documents.send(
          new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
        );
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return itemsText(items);
    },
    putUserState: async (appId, userId, state) => {
      await running.documents.send(
        new PutCommand({ TableName: tableName, Item: { ...keys.state(appId, userId), ...state } }),
      );
    },
    approvals: (appId, userId) =>
      audit.events.filter(
        (e) =>
          e.type === "verification.approved" &&
          e.appId === appId &&
          (userId === undefined || e.userId === userId),
      ).length,
    createApp: async (name, createOptions = {}) => {
      apps += 1;
      const created = await createApp(deps, {
        name: name ?? `Test app ${apps}`,
        ...(createOptions.unconfigured ? {} : { configure: deliverable }),
      });
      return { appId: created.appId, apiKey: created.apiKey, keyId: created.keyId };
    },
    latestCode: (to) => {
      const message = outbox.findLast((m) => m.to === to);
      const code = message ? codeIn(message) : undefined;
      if (code === undefined) throw new Error(`no code was sent to ${to}`);
      return code;
    },
    configure: async (appId, change) => {
      const current = await getAppConfig(deps, appId);
      const edited = structuredClone(current.config);
      change(edited);
      const updated = await updateAppConfig(deps, { appId, body: edited, ifMatch: current.version });
      return updated.config;
    },
    stepUp: async (appId, userId) => {
      const written = await dynamo.writeUserState(appId, userId, approveAttempt(clock.now()));
      if (!written.ok) throw new Error(`cannot step up ${userId}: the user is locked`);
    },
    enrollActive: async (input) => {
      // Adding a factor to a user with MFA on needs a fresh verification (step-up), as a real client would do first.
      const state = await dynamo.getUserState(input.appId, input.userId);
      if (state?.enabled) await deps.stepUp(input.appId, input.userId);
      const enrolled = await enrollWithCode(deps, input);
      const address = enrolled.factor.address;
      if (!address) throw new Error("enrolled factor has no address");
      const activated = await activateFactor(deps, {
        appId: input.appId,
        userId: input.userId,
        factorId: enrolled.factor.factorId,
        code: deps.latestCode(address),
      });
      return { factorId: activated.factor.factorId, recoveryCodes: activated.recoveryCodes ?? [] };
    },
  };
  return deps;
}

/** The DomainError a promise rejects with; fails when it resolves or rejects with anything else. */
export async function domainError(promise: Promise<unknown>): Promise<DomainError> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error(`expected a DomainError, got ${JSON.stringify(outcome)}`);
}

/** Whatever a promise rejects with, or `{ resolved }` when it does not. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    return { resolved: await promise };
  } catch (error) {
    return error;
  }
}

/** Enrolls an sms or email factor: the enrollment that was sent a code. */
export async function enrollWithCode(
  deps: Deps,
  input: CodeEnrollInput,
): Promise<{ factor: FactorRecord; challengeId: string; expiresAt: EpochMs }> {
  const enrolled = await enrollFactor(deps, input);
  if (enrolled.challengeId === undefined || enrolled.expiresAt === undefined) {
    throw new Error("an sms or email enrollment has a challenge");
  }
  return { factor: enrolled.factor, challengeId: enrolled.challengeId, expiresAt: enrolled.expiresAt };
}

export interface TotpEnrollment {
  factor: FactorRecord;
  secret: string;
  otpauthUri: string;
  qrCodeSvg: string;
  qrCodeDataUrl: string;
}

/** Enrolls an authenticator app: the secret and its QR codes are revealed once. */
export async function enrollTotp(
  deps: Deps,
  input: { appId: string; userId: string; label?: string },
): Promise<TotpEnrollment> {
  const enrolled = await enrollFactor(deps, { ...input, type: "totp" });
  const reveal = enrolled.reveal ?? {};
  const text = (name: string): string => {
    const value = reveal[name];
    if (typeof value !== "string") throw new Error(`a totp enrollment reveals its ${name}`);
    return value;
  };
  return {
    factor: enrolled.factor,
    secret: text("secret"),
    otpauthUri: text("otpauthUri"),
    qrCodeSvg: text("qrCodeSvg"),
    qrCodeDataUrl: text("qrCodeDataUrl"),
  };
}
