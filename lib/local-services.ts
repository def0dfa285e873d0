import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { createTableInput } from "./table.ts";

const require = createRequire(import.meta.url);

/** Credentials the local emulators accept; they check nothing, the SDK just needs some. */
export const LOCAL_AWS = {
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
} as const;

export interface LocalService {
  url: string;
  stop(): Promise<void>;
}

/**
 * Each emulator runs as a child process that prints `PORT <n>` once it listens on a free
 * loopback port, and exits when its stdin closes, so it never outlives the parent.
 */
function startChild(name: string, script: string): Promise<LocalService> {
  const child: ChildProcess = spawn(process.execPath, ["-e", script], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const fail = (why: string) =>
      reject(new Error(`${name} did not start: ${why}${stderr ? `\n${stderr}` : ""}`));
    child.once("error", (error) => fail(error.message));
    child.once("exit", (code) => fail(`exited with code ${code}`));
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const port = /PORT (\d+)/.exec(out)?.[1];
      if (!port) return;
      child.removeAllListeners("exit");
      resolve({
        url: `http://127.0.0.1:${port}`,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once("exit", () => done());
            child.stdin?.end();
            setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
          }),
      });
    });
  });
}

const exitWithParent = `process.stdin.on("end", () => process.exit(0)); process.stdin.resume();`;

/** dynalite: DynamoDB's API on LevelDB at `path`, or in memory without one. */
export function startDynalite(path?: string): Promise<LocalService> {
  const options = JSON.stringify({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(path ? { path } : {}),
  });
  return startChild(
    "dynalite",
    `const server = require(${JSON.stringify(require.resolve("dynalite"))})(${options});
     server.listen(0, "127.0.0.1", () => console.log("PORT " + server.address().port));
     ${exitWithParent}`,
  );
}

/** aws-ses-v2-local: the SES v2 API, keeping sent mail in memory (`GET /store`, and a web page at `/`). */
export function startSesLocal(): Promise<LocalService> {
  return startChild(
    "aws-ses-v2-local",
    `require(${JSON.stringify(require.resolve("aws-ses-v2-local"))}).default({ host: "127.0.0.1", port: 0 })
       .then((s) => console.log("PORT " + s.address().port));
     ${exitWithParent}`,
  );
}

/** Creates the table on first start; later starts find it in the persisted data. */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  } finally {
    client.destroy();
  }
}
