import type { Command } from "commander";
import type { SmsProtectionView } from "../admin-types.ts";
import type { ContextOf } from "../context.ts";
import { table } from "../io.ts";

export function smsProtectionLines(appId: string, view: SmsProtectionView): string[] {
  const blocked = Object.entries(view.blockedLast24h);
  return [
    `SMS protection of ${appId}: mode ${view.mode}, ${view.appSentToday} SMS sent today`,
    ...(view.countries.length === 0
      ? ["No SMS sent in the conversion window."]
      : table(
          ["COUNTRY", "SENT", "VERIFIED", "CONVERSION", "PAUSED UNTIL"],
          view.countries.map((c) => [
            c.country,
            String(c.sentInWindow),
            String(c.verifiedInWindow),
            c.conversion === null ? "-" : `${Math.round(c.conversion * 100)}%`,
            c.pausedUntil ?? "-",
          ]),
        )),
    `Blocked in the last 24 h: ${blocked.length === 0 ? "none" : blocked.map(([r, n]) => `${r} ${n}`).join(", ")}`,
  ];
}

export function registerSmsProtection(program: Command, contextOf: ContextOf): void {
  const sms = program.command("sms-protection").description("SMS pumping and cost protection");
  sms
    .command("show")
    .description("mode, today's count, per-country conversion and paused countries, recent refusals")
    .argument("<appId>")
    .action(async (appId: string, _options: unknown, command: Command) => {
      const { api, out } = contextOf(command);
      const view = await (await api()).smsProtection(appId);
      out.result(view, () => smsProtectionLines(appId, view));
    });
  sms
    .command("resume")
    .description("close a country's conversion breaker now (SMS to it flow again)")
    .argument("<appId>")
    .argument("<country>", "ISO 3166 alpha-2, e.g. NG")
    .action(async (appId: string, typed: string, _options: unknown, command: Command) => {
      const { api, out } = contextOf(command);
      const country = typed.trim().toUpperCase();
      await (await api()).resumeSmsCountry(appId, country);
      out.result({ appId, country, resumed: true }, () => `SMS to ${country} resumed for ${appId}.`);
    });
}
