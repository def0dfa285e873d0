import { createInterface, type Interface } from "node:readline/promises";
import { Writable } from "node:stream";
import { CliError } from "./errors.ts";

/** Questions on a terminal; `hidden` ones are not echoed (a provider's auth token). */
export class Prompter {
  private muted = false;
  private readonly rl: Interface;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
  ) {
    const echo = new Writable({
      write: (chunk, _encoding, done) => {
        if (!this.muted) this.output.write(chunk);
        done();
      },
    });
    this.rl = createInterface({ input, output: echo, terminal: true });
  }

  async ask(question: string): Promise<string> {
    return (await this.rl.question(`${question}: `)).trim();
  }

  /** A line under the question, e.g. why an answer was refused. */
  say(line: string): void {
    this.output.write(`${line}\n`);
  }

  async askHidden(question: string): Promise<string> {
    // Muted and listening before the question shows, so not even a fast typist's first key is echoed.
    this.muted = true;
    const answer = this.rl.question("");
    this.output.write(`${question} (not shown): `);
    try {
      return (await answer).trim();
    } finally {
      this.muted = false;
      this.output.write("\n");
    }
  }

  /**
   * Pasted lines until Ctrl-D, not echoed (a provider credential). readline holds the terminal
   * in raw mode meanwhile, so the terminal does not echo either; Ctrl-C cancels.
   */
  async readHidden(question: string): Promise<string> {
    this.muted = true;
    this.output.write(`${question}\n`);
    const lines: string[] = [];
    const onLine = (line: string) => lines.push(line);
    // readline ends at Ctrl-D only on an empty line; after a paste without a final newline it ends too.
    const onKey = (_text: string | undefined, key: { ctrl?: boolean; name?: string } | undefined) => {
      if (key?.ctrl && key.name === "d" && this.rl.line.length > 0) {
        lines.push(this.rl.line);
        this.rl.close();
      }
    };
    this.rl.on("line", onLine);
    this.input.on("keypress", onKey);
    try {
      return await new Promise<string>((resolve, reject) => {
        this.rl.once("SIGINT", () => {
          reject(new CliError("cancelled: nothing was read"));
          this.rl.close();
        });
        this.rl.once("close", () => resolve(lines.join("\n")));
      });
    } finally {
      this.rl.off("line", onLine);
      this.input.off("keypress", onKey);
      this.muted = false;
    }
  }

  close(): void {
    this.rl.close();
  }
}
