import type { Command } from "commander";
import type { DoctorReport } from "../admin-types.ts";
import { type ContextOf, Exit } from "../context.ts";

export function doctorLines(appId: string, report: DoctorReport): string[] {
  return [
    report.ready ? `${appId} is ready to deliver codes.` : `${appId} is not ready yet: fix each ✗ below.`,
    ...report.checks.flatMap((check) => [
      // `!`: worth fixing, but it does not keep codes from being delivered (e.g. the SES sandbox).
      `${check.ok ? "✓" : check.blocking === false ? "!" : "✗"} ${check.id}: ${check.detail}`,
      ...(!check.ok && check.fix ? [`    fix: ${check.fix}`] : []),
    ]),
  ];
}

export function registerDoctor(program: Command, contextOf: ContextOf): void {
  program
    .command("doctor")
    .description("what stands between the app and its first delivered code (exit code 1 until ready)")
    .argument("<appId>")
    .action(async (appId: string, _options: unknown, command: Command) => {
      const { api, out } = contextOf(command);
      const report = await (await api()).doctor(appId);
      out.result(report, () => doctorLines(appId, report));
      if (!report.ready) throw new Exit(1);
    });
}
