import type { Command } from "commander";
import type { DoctorReport, JsonObject, SecretInfo } from "../admin-types.ts";
import type { ContextOf } from "../context.ts";
import { ApiError, CliError } from "../errors.ts";
import { fromAddressProblem, senderProblem, twilioSecretProblem } from "../init-inputs.ts";
import { Prompter } from "../prompt.ts";
import { createdAppLines } from "./apps.ts";
import { patchConfig, readJsonFile } from "./config.ts";
import { doctorLines } from "./doctor.ts";

const TWILIO = "twilio";

interface InitOptions {
  name?: string;
  fromAddress?: string;
  sender?: string;
  twilioFile?: string;
  replaceSecret?: boolean;
}

interface Answers {
  name: string;
  fromAddress?: string;
  sender?: string;
  twilio?: JsonObject;
}

/** Asks until the answer is valid or empty (skipped). */
async function askValid(
  prompter: Prompter,
  question: string,
  problem: (answer: string) => string | undefined,
): Promise<string | undefined> {
  for (;;) {
    const answer = await prompter.ask(question);
    if (!answer) return undefined;
    const wrong = problem(answer);
    if (!wrong) return answer;
    prompter.say(`  ${wrong}; try again, or Enter to skip`);
  }
}

/**
 * Asks on the terminal for what no flag gave; an empty answer skips that step. A Twilio secret
 * that is `set` already is replaced only if the admin says yes.
 */
async function askMissing(
  prompter: Prompter,
  given: Omit<Answers, "name"> & { name?: string },
  set: SecretInfo | undefined,
) {
  const name = given.name ?? (await prompter.ask("App name (e.g. Shop)"));
  const fromAddress =
    given.fromAddress ??
    (await askValid(
      prompter,
      "Email from-address, an address of your verified SES identity (Enter to skip)",
      fromAddressProblem,
    ));
  const sender =
    given.sender ??
    (await askValid(
      prompter,
      "SMS sender number in E.164, e.g. +14155550100 (Enter to skip)",
      senderProblem,
    ));
  if (set) {
    const replace = await prompter.ask(
      `${set.name} is already set (updated ${set.updatedAt ?? "at an unknown time"}); replace it? [y/N]`,
    );
    if (!/^y(es)?$/i.test(replace)) {
      prompter.say(`  Keeping the ${set.name} secret that is set.`);
      return { name, fromAddress, sender, twilio: undefined };
    }
  }
  let twilio = given.twilio;
  if (!twilio) {
    const accountSid = await prompter.ask("Twilio Account SID (Enter to skip)");
    if (accountSid) twilio = { accountSid, authToken: await prompter.askHidden("Twilio auth token") };
  }
  return { name, fromAddress, sender, twilio };
}

/**
 * The flags' values, checked before anything is created (the app would otherwise be left
 * half set up); every problem is named at once.
 */
async function checkFlags(cwd: string, options: InitOptions): Promise<{ twilio?: JsonObject }> {
  const problems: string[] = [];
  const wrongFrom = options.fromAddress === undefined ? undefined : fromAddressProblem(options.fromAddress);
  if (wrongFrom) problems.push(`--from-address: ${wrongFrom}`);
  const wrongSender = options.sender === undefined ? undefined : senderProblem(options.sender);
  if (wrongSender) problems.push(`--sender: ${wrongSender}`);
  let twilio: JsonObject | undefined;
  if (options.twilioFile) {
    try {
      twilio = await readJsonFile(cwd, options.twilioFile, { secret: true });
      const wrong = twilioSecretProblem(twilio);
      if (wrong) problems.push(`--twilio-file ${options.twilioFile}: ${wrong}`);
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      problems.push(`--twilio-file: ${error.message}`);
    }
  }
  if (problems.length > 0)
    throw new CliError(["init created nothing:", ...problems.map((problem) => `  - ${problem}`)].join("\n"));
  return { twilio };
}

export function registerInit(program: Command, contextOf: ContextOf): void {
  program
    .command("init")
    .description(
      "first run: create an app (its API key printed once), set its email from-address and SMS sender, store the Twilio secret, run doctor",
    )
    .option("--name <name>", "the app's name (asked when stdin is a terminal)")
    .option("--from-address <email>", "email.fromAddress: an address of your verified SES identity")
    .option("--sender <phone>", "sms.defaultSender in E.164")
    .option("--twilio-file <file>", 'the Twilio secret as JSON: {"accountSid":"AC…","authToken":"…"}')
    .option(
      "--replace-secret",
      "replace the twilio secret if it is set already (every app of the deployment shares it)",
    )
    .action(async (options: InitOptions, command: Command) => {
      const { api, out, io, self } = contextOf(command);
      const { twilio } = await checkFlags(io.cwd, options);
      const given = { name: options.name, fromAddress: options.fromAddress, sender: options.sender, twilio };
      const terminal = io.stdin.isTTY === true;
      if (!terminal && !options.name)
        throw new CliError("init needs an app name: --name <name> (stdin is not a terminal)");
      const client = await api();
      // The twilio secret is the deployment's, not the app's: every app whose sms.secretName is
      // twilio sends with it, so one that is set is replaced only when the admin says so.
      const set =
        (twilio || terminal) && !options.replaceSecret
          ? (await client.listSecrets()).find((secret) => secret.name === TWILIO && secret.set)
          : undefined;
      if (set && twilio && !terminal) {
        throw new CliError(
          `${TWILIO} is already set (updated ${set.updatedAt ?? "at an unknown time"}) and every app of this deployment shares it, so init created nothing. ` +
            `Pass --replace-secret to replace it, or leave out --twilio-file to keep it.`,
        );
      }
      let answers: Answers;
      if (terminal) {
        const prompter = new Prompter(io.stdin, io.promptOutput ?? process.stderr);
        try {
          answers = await askMissing(prompter, given, set);
        } finally {
          prompter.close();
        }
        if (!answers.name) throw new CliError("init needs an app name");
      } else {
        answers = { ...given, name: given.name ?? "" };
      }

      const created = await client.createApp(answers.name);
      if (!out.json) out.line(...createdAppLines(answers.name, created));

      let version: unknown;
      try {
        const patch: JsonObject = {};
        if (answers.fromAddress) patch.email = { fromAddress: answers.fromAddress };
        if (answers.sender) patch.sms = { defaultSender: answers.sender };
        if (Object.keys(patch).length > 0) {
          const { after } = await patchConfig(client, created.appId, patch, { retry: true });
          version = after.config.version;
          if (!out.json) {
            out.line(
              ...[
                answers.fromAddress && `Email from-address set: ${answers.fromAddress}`,
                answers.sender && `SMS sender set: ${answers.sender}`,
              ].filter((line): line is string => Boolean(line)),
            );
          }
        }
        if (answers.twilio) {
          await client.putSecret(TWILIO, answers.twilio);
          if (!out.json)
            out.line("Twilio secret saved as `twilio` (shared by every app whose sms.secretName is twilio).");
        }
      } catch (error) {
        // The key must not be lost with the app: with --json it has not been printed yet.
        if (out.json)
          out.result(
            { ...created, configVersion: version ?? null, twilioSecretSet: false, doctor: null },
            () => [],
          );
        out.note(
          `App ${created.appId} was created; finish its setup with ${self} config patch, ${self} secrets set and ${self} doctor ${created.appId}.`,
        );
        throw error;
      }

      let doctor: DoctorReport | undefined;
      try {
        doctor = await client.doctor(created.appId);
      } catch (error) {
        // The app exists and its key is due: doctor only informs, so its failure does not fail init.
        const noRoute =
          error instanceof ApiError && error.problem.status === 404 && error.code !== "app_not_found";
        out.note(
          noRoute
            ? `This deployment has no doctor route: check the config with ${self} config get ${created.appId}.`
            : `doctor could not run (${error instanceof Error ? error.message : String(error)}); run it again: ${self} doctor ${created.appId}`,
        );
      }
      if (out.json) {
        out.result(
          {
            ...created,
            configVersion: version ?? null,
            twilioSecretSet: Boolean(answers.twilio),
            doctor: doctor ?? null,
          },
          () => [],
        );
      } else if (doctor) {
        out.line("", ...doctorLines(created.appId, doctor));
        if (!doctor.ready) out.line("", `Fix the ✗ items, then check again: ${self} doctor ${created.appId}`);
      }
    });
}
