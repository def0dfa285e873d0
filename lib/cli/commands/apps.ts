import type { Command } from "commander";
import type { CreatedApp } from "../admin-types.ts";
import type { ContextOf } from "../context.ts";
import { table } from "../io.ts";

/** The API key is printed this once; the service keeps only its hash. */
export function onceOnlyKey(created: { apiKey: string; keyId: string }): string[] {
  return [
    `API key (key id ${created.keyId}):`,
    "",
    `  ${created.apiKey}`,
    "",
    "Store it now (e.g. in your app's secret store): it is not shown again and cannot be recovered.",
  ];
}

export function createdAppLines(name: string, created: CreatedApp): string[] {
  return [`Created app "${name}" with appId ${created.appId}.`, ...onceOnlyKey(created)];
}

export function registerApps(program: Command, contextOf: ContextOf): void {
  const apps = program
    .command("apps")
    .description("client apps: each has its own config, users and API keys");
  apps
    .command("create")
    .description("create an app and print its first API key (once)")
    .argument("<name>", "a display name, e.g. Shop")
    .action(async (name: string, _options: unknown, command: Command) => {
      const { api, out } = contextOf(command);
      const created = await (await api()).createApp(name);
      out.result(created, () => createdAppLines(name, created));
    });
  apps
    .command("list")
    .description("list the apps")
    .action(async (_options: unknown, command: Command) => {
      const { api, out, self } = contextOf(command);
      const list = await (await api()).listApps();
      out.result({ apps: list }, () =>
        list.length === 0
          ? `No apps yet: ${self} apps create <name>`
          : table(
              ["APP ID", "NAME", "CREATED"],
              list.map((a) => [a.appId, a.name, a.createdAt]),
            ),
      );
    });
}
