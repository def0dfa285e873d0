import { resolve } from "node:path";
import type { LogEntry } from "#http/log";
import { readableLine } from "../lib/local-log.ts";
import { startLocalStack } from "../lib/local-stack.ts";
import { walkthrough } from "../lib/walkthrough.ts";

const dir = resolve(process.env.OTP_LOCAL_DIR ?? ".local");
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number, got ${process.env.PORT}`);
  process.exit(2);
}

// The Lambdas' level variable; OTP_LOG_REQUESTS=0 (older) hides the INFO line of each request.
const threshold =
  process.env.OTP_LOG_REQUESTS === "0" ? "WARN" : (process.env.POWERTOOLS_LOG_LEVEL ?? "INFO");
const shown = (level: LogEntry["level"]): boolean => {
  const order = ["DEBUG", "INFO", "WARN", "ERROR"];
  return order.indexOf(level.toUpperCase()) >= Math.max(0, order.indexOf(threshold.toUpperCase()));
};

try {
  const stack = await startLocalStack({
    dir,
    port,
    host: process.env.HOST ?? "127.0.0.1",
    print: (line) => console.log(line),
    log: (entry) => {
      if (shown(entry.level)) console.log(readableLine(entry));
    },
  });
  console.log(walkthrough(stack.credentials, dir, stack.sesEndpoint));
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local stack...`);
    await stack.stop();
    console.log("stopped (data kept in", dir, ")");
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
} catch (error) {
  const code = (error as { code?: string }).code;
  if (code === "EADDRINUSE") {
    console.error(
      `Port ${port} is already in use. Stop whatever uses it, or pick another: PORT=3001 npm start`,
    );
  } else {
    console.error("The local stack could not start:", error instanceof Error ? error.message : error);
  }
  process.exit(1);
}
