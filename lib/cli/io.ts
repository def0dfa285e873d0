/** What the CLI reads and writes; the binary passes the process's, tests their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Where prompts are echoed (the terminal); prompts only run when stdin is a TTY. */
  promptOutput?: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Ends `--follow` (Ctrl-C in the binary). */
  signal?: AbortSignal;
  /** Puts requests on the wire; tests wrap it to step in between the CLI's requests. */
  send?: typeof fetch;
}

/** Human-readable lines, or with `--json` the raw JSON the API answered. */
export class Output {
  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** One result: JSON when asked for, else the human rendering. */
  result(value: unknown, human: () => string | string[]): void {
    if (this.json) {
      this.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
      return;
    }
    const text = human();
    this.line(...(Array.isArray(text) ? text : [text]));
  }

  line(...lines: string[]): void {
    for (const line of lines) this.io.stdout(`${line}\n`);
  }

  /** Notes, warnings and progress go to stderr so stdout stays the result. */
  note(...lines: string[]): void {
    for (const line of lines) this.io.stderr(`${line}\n`);
  }
}

/** Columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const format = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [format(header), ...rows.map(format)];
}
