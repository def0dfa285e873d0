import type { Command } from "commander";
import type { ContextOf } from "../context.ts";
import type { CliIo } from "../io.ts";
import { table } from "../io.ts";
import { parseJsonObject } from "../merge-patch.ts";
import { Prompter } from "../prompt.ts";
import { readJsonFile } from "./config.ts";

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** A provider credential from a file or stdin; never echoed, not even in a parse error. */
export async function readSecretValue(io: CliIo, file: string | undefined, name: string) {
  if (file) return readJsonFile(io.cwd, file, { secret: true });
  if (io.stdin.isTTY) {
    const prompter = new Prompter(io.stdin, io.promptOutput ?? process.stderr);
    try {
      const text = await prompter.readHidden(`Paste the JSON value of ${name} (not shown), then Ctrl-D:`);
      return parseJsonObject(text, `the value of ${name}`, { secret: true });
    } finally {
      prompter.close();
    }
  }
  return parseJsonObject(await readAll(io.stdin), `the value of ${name} on stdin`, { secret: true });
}

export function registerSecrets(program: Command, contextOf: ContextOf): void {
  const secrets = program
    .command("secrets")
    .description("provider credentials (Twilio, Sinch): set and listed, never shown");
  secrets
    .command("set")
    .description("store a provider secret from a JSON file, or from stdin without --file")
    .argument("<name>", "twilio, sinch-verification-api, or a name an app's config refers to")
    .option("--file <file>", 'the JSON value, e.g. {"accountSid":"AC…","authToken":"…"}')
    .action(async (name: string, options: { file?: string }, command: Command) => {
      const { api, out, io } = contextOf(command);
      const value = await readSecretValue(io, options.file, name);
      await (await api()).putSecret(name, value);
      out.result({ name, set: true }, () => `Secret ${name} saved (its value is never shown).`);
    });
  secrets
    .command("list")
    .description("which secrets are set, and when they changed")
    .action(async (_options: unknown, command: Command) => {
      const { api, out } = contextOf(command);
      const list = await (await api()).listSecrets();
      out.result({ secrets: list }, () =>
        table(
          ["NAME", "SET", "UPDATED"],
          list.map((s) => [s.name, s.set ? "yes" : "no", s.updatedAt ?? "-"]),
        ),
      );
    });
}
