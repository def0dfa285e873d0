#!/usr/bin/env node
// `npm run console -- --stage <stage>`: the admin console on 127.0.0.1, every admin call SigV4-signed.
// The AWS SDK warns on Node 20 at every run; the output should be the console's address only.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
process.env.AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING ??= "1";
const { Command, CommanderError, InvalidArgumentError } = await import("commander");
const { CliError } = await import("../lib/cli/errors.ts");
const { resolveConnection } = await import("../lib/cli/target.ts");
const { startConsoleServer } = await import("../lib/console-server.ts");

const DEFAULT_PORT = 4400;

interface ConsoleOptions {
  stage?: string;
  stackName?: string;
  url?: string;
  local?: string | boolean;
  region?: string;
  profile?: string;
  port: number;
}

const parsePort = (text: string): number => {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError("a port number 0..65535 (0: any free port)");
  }
  return port;
};

const program = new Command("npm run console --")
  .description(
    "Serve the admin console on 127.0.0.1 against a deployed stage: the page calls this server, " +
      "which signs each admin request with SigV4 from your AWS credentials and forwards it.",
  )
  .option("--stage <stage>", "a deployed stage: reads ApiUrl from its CloudFormation stack")
  .option("--stack-name <name>", "the stack for --stage (default OtpService-<stage>)")
  .option("--url <apiUrl>", "a deployed API's base URL instead of --stage")
  .option("--region <region>", "AWS region (default: the execute-api URL's, AWS_REGION, or the profile's)")
  .option("--profile <profile>", "AWS profile for credentials and region")
  .option(
    "--local [dir]",
    "the local stack instead (its admin token; npm start also serves /console/ itself)",
  )
  .option("--port <port>", "the port on 127.0.0.1 (0: any free port)", parsePort, DEFAULT_PORT)
  .exitOverride();

async function main(): Promise<number> {
  try {
    program.parse(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  const options = program.opts<ConsoleOptions>();
  if (!options.stage && !options.url && !options.local) {
    process.stderr.write(
      "error: say which API: --stage <stage> (or --url <apiUrl>); for the local stack, npm start serves /console/ itself\n",
    );
    return 1;
  }
  let connection: Awaited<ReturnType<typeof resolveConnection>>;
  try {
    connection = await resolveConnection(options, { env: process.env, cwd: process.cwd() });
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  // One signed read before serving: missing credentials stop here, in the terminal, rather than
  // as a 502 in the page; a refusal (no IAM permission) or an unreachable API is only a warning.
  const probeUrl = `${connection.baseUrl.replace(/\/+$/, "")}/v1/admin/apps`;
  try {
    const probe = await connection.fetch(probeUrl, { headers: { accept: "application/json" } });
    await probe.body?.cancel();
    if (!probe.ok) {
      process.stderr.write(
        `warning: the admin API answered ${probe.status} to GET /v1/admin/apps; the console will show its refusals\n`,
      );
    }
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(
      `warning: could not reach ${probeUrl}: ${error instanceof Error ? error.message : error}\n`,
    );
  }
  let server: Awaited<ReturnType<typeof startConsoleServer>>;
  try {
    server = await startConsoleServer({
      baseUrl: connection.baseUrl,
      fetch: connection.fetch,
      port: options.port,
    });
  } catch (error) {
    if ((error as { code?: string }).code === "EADDRINUSE") {
      process.stderr.write(
        `error: port ${options.port} on 127.0.0.1 is in use: pass --port <port> (or --port 0 for any free port)\n`,
      );
      return 1;
    }
    throw error;
  }
  const auth = options.local ? "the local admin token" : "SigV4 (your AWS credentials)";
  process.stdout.write(
    `Admin console for ${connection.baseUrl}, each admin request signed with ${auth}.\n` +
      `Open ${server.url}\n(Ctrl-C stops it.)\n`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.close();
  return 0;
}

process.exitCode = await main();
