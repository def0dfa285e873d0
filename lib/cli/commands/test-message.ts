import { type Command, Option } from "commander";
import type { ContextOf } from "../context.ts";

export function registerTestMessage(program: Command, contextOf: ContextOf): void {
  program
    .command("test-message")
    .description("send a test SMS or email with the app's saved config and secrets")
    .argument("<appId>")
    .addOption(
      new Option("--channel <channel>", "sms or email").choices(["sms", "email"]).makeOptionMandatory(),
    )
    .requiredOption("--to <destination>", "a phone number (+14155550123) or an email address")
    .action(async (appId: string, options: { channel: "sms" | "email"; to: string }, command: Command) => {
      const { api, out } = contextOf(command);
      const delivery = await (await api()).testMessage(appId, options.channel, options.to);
      out.result(
        delivery,
        () =>
          `Delivered to ${options.to} by ${delivery.provider}${
            delivery.providerMessageId ? ` (message id ${delivery.providerMessageId})` : ""
          }.`,
      );
    });
}
