import { Readable } from "node:stream";
import { runCli } from "#lib/cli/program";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  /** Instead of `stdin`: a stream that may pose as a terminal, and where prompts are echoed. */
  terminal?: { input: NodeJS.ReadableStream & { isTTY?: boolean }; output: NodeJS.WritableStream };
  send?: typeof fetch;
  signal?: AbortSignal;
  cwd?: string;
  /** Sees stdout as it is written (for --follow). */
  onStdout?: (soFar: string) => void;
}

/** The CLI's program in this process, with its output captured. */
export async function runInProcess(args: string[], options: RunOptions = {}): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    stdout: (text) => {
      stdout += text;
      options.onStdout?.(stdout);
    },
    stderr: (text) => {
      stderr += text;
    },
    stdin:
      options.terminal?.input ??
      Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    promptOutput: options.terminal?.output,
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    signal: options.signal,
    send: options.send,
  });
  return { code, stdout, stderr };
}
