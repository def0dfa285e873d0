import { createInterface, type Interface } from "node:readline/promises";
import { Writable } from "node:stream";

/** Questions on a terminal; `hidden` ones are not echoed (a provider's auth token). */
export class Prompter {
  private muted = false;
  private readonly rl: Interface;

  constructor(
    input: NodeJS.ReadableStream,
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

  close(): void {
    this.rl.close();
  }
}
