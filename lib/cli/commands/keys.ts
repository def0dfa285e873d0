import type { Command } from "commander";
import type { ContextOf } from "../context.ts";
import { onceOnlyKey } from "./apps.ts";

export function registerKeys(program: Command, contextOf: ContextOf): void {
  const keys = program.command("keys").description("an app's API keys (for the client routes)");
  keys
    .command("create")
    .description("issue another API key; the app's older keys keep working")
    .argument("<appId>")
    .action(async (appId: string, _options: unknown, command: Command) => {
      const { api, out } = contextOf(command);
      const created = await (await api()).createApiKey(appId);
      out.result(created, () => [`New API key for ${appId}.`, ...onceOnlyKey(created)]);
    });
  keys
    .command("revoke")
    .description("refuse this key from now on")
    .argument("<appId>")
    .argument("<keyId>")
    .action(async (appId: string, keyId: string, _options: unknown, command: Command) => {
      const { api, out } = contextOf(command);
      await (await api()).revokeApiKey(appId, keyId);
      out.result(
        { appId, keyId, revoked: true },
        () => `Revoked key ${keyId} of ${appId}: it is refused from now on.`,
      );
    });
}
