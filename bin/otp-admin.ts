#!/usr/bin/env node
// The AWS SDK warns on Node 20 at every run; the CLI's output should be the answer only.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
process.env.AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING ??= "1";
const { runCli } = await import("../lib/cli/program.ts");

const stop = new AbortController();
process.once("SIGINT", () => stop.abort());

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdin: process.stdin,
  promptOutput: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: stop.signal,
});
