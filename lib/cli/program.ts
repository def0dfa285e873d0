import { Command, CommanderError } from "commander";
import { registerApps } from "./commands/apps.ts";
import { registerAudit } from "./commands/audit.ts";
import { registerConfig } from "./commands/config.ts";
import { registerDoctor } from "./commands/doctor.ts";
import { registerInit } from "./commands/init.ts";
import { registerKeys } from "./commands/keys.ts";
import { registerSecrets } from "./commands/secrets.ts";
import { registerSmsProtection } from "./commands/sms-protection.ts";
import { registerTestMessage } from "./commands/test-message.ts";
import { registerUsers } from "./commands/users.ts";
import { type ContextOf, Exit } from "./context.ts";
import { ApiError, CliError, UnreachableError } from "./errors.ts";
import { adminCommand } from "./invocation.ts";
import { type CliIo, Output } from "./io.ts";
import { resolveTarget, type TargetOptions } from "./target.ts";

const examples = (self: string) => `
Targets (default --local):
  --local [dir]      the local stack (npm start): dir/credentials.json, default $OTP_LOCAL_DIR or .local
  --stage <stage>    a deployed stage: the ApiUrl output of stack OtpService-<stage>, SigV4-signed
  --url <apiUrl>     a deployed API by URL, SigV4-signed (credentials: the standard AWS chain)

Examples:
  ${self} apps list
  ${self} config patch default --set code.length=8
  ${self} --stage prod doctor <appId>
  echo '{"accountSid":"AC…","authToken":"…"}' | ${self} secrets set twilio`;

export function createProgram(io: CliIo): Command {
  const self = adminCommand(io.env);
  const program = new Command(self)
    .description("Administer otp-service: apps, API keys, config, secrets, users, audit.")
    .option("--local [dir]", "the local stack's folder (credentials.json; default $OTP_LOCAL_DIR or .local)")
    .option("--url <apiUrl>", "a deployed API's base URL (requests are SigV4-signed)")
    .option("--stage <stage>", "a deployed stage: reads ApiUrl from its CloudFormation stack")
    .option("--stack-name <name>", "the stack for --stage (default OtpService-<stage>)")
    .option("--region <region>", "AWS region (default: the execute-api URL's, AWS_REGION, or the profile's)")
    .option("--profile <profile>", "AWS profile for credentials and region")
    .option("--json", "print the raw JSON result")
    .addHelpText("after", examples(self))
    .showHelpAfterError(`(${self} --help lists the commands)`)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  const contextOf: ContextOf = (command) => {
    const options = command.optsWithGlobals<TargetOptions & { json?: boolean }>();
    let api: ReturnType<typeof resolveTarget> | undefined;
    return {
      api: () => {
        api ??= resolveTarget(options, { env: io.env, cwd: io.cwd, send: io.send });
        return api;
      },
      out: new Output(io, options.json === true),
      io,
      self,
    };
  };
  registerInit(program, contextOf);
  registerApps(program, contextOf);
  registerKeys(program, contextOf);
  registerConfig(program, contextOf);
  registerSecrets(program, contextOf);
  registerTestMessage(program, contextOf);
  registerUsers(program, contextOf);
  registerAudit(program, contextOf);
  registerSmsProtection(program, contextOf);
  registerDoctor(program, contextOf);
  return program;
}

/** An error in a few readable lines: a problem's title, detail, code and field errors; never a stack. */
export function describeError(error: unknown): string[] {
  if (error instanceof ApiError) {
    const { title, detail, code, status, errors, type: _, message: __, ...extras } = error.problem;
    return [
      `error: ${title}${code ? ` (${code}, HTTP ${status})` : ` (HTTP ${status})`}`,
      ...(detail ? [`  ${detail}`] : []),
      ...(errors ?? []).map((e) => `  - ${e.path}: ${e.message}`),
      // e.g. a provider's error code and message, retryAfterSeconds, lockedUntil
      ...Object.entries(extras)
        .filter(([, value]) => ["string", "number", "boolean"].includes(typeof value))
        .map(([key, value]) => `  ${key}: ${String(value)}`),
    ];
  }
  if (error instanceof CliError || error instanceof UnreachableError) return [`error: ${error.message}`];
  return [`error: ${error instanceof Error ? error.message : String(error)}`];
}

/** Runs one command line (`argv` without node and the script); returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof Exit) return error.code;
    // Commander has printed its own message (usage error) or the help.
    if (error instanceof CommanderError) return error.exitCode;
    for (const line of describeError(error)) io.stderr(`${line}\n`);
    return 1;
  }
}
