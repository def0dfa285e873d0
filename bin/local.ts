import { resolve } from "node:path";
import { startLocalStack } from "../lib/local-stack.ts";
import { walkthrough } from "../lib/walkthrough.ts";

const dir = resolve(process.env.OTP_LOCAL_DIR ?? ".local");
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number, got ${process.env.PORT}`);
  process.exit(2);
}

try {
  const stack = await startLocalStack({
    dir,
    port,
    host: process.env.HOST ?? "127.0.0.1",
    print: (line) => console.log(line),
    log: process.env.OTP_LOG_REQUESTS === "0" ? undefined : (entry) => console.log(JSON.stringify(entry)),
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
