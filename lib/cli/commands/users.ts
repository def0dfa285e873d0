import type { Command } from "commander";
import type { UserView } from "../admin-types.ts";
import type { ContextOf } from "../context.ts";
import { table } from "../io.ts";

export function userLines(user: UserView): string[] {
  return [
    `User ${user.userId}: MFA ${user.enabled ? "on" : "off"}`,
    `  locked until:       ${user.lockedUntil ?? "not locked"}`,
    `  failed attempts:    ${user.failedAttempts}`,
    `  recovery codes:     ${user.recoveryCodesRemaining} left`,
    `  active sessions:    ${user.activeSessions}`,
    ...(user.factors.length === 0
      ? ["  factors:            none"]
      : [
          "",
          ...table(
            ["FACTOR", "TYPE", "STATUS", "DESTINATION", "CREATED"],
            user.factors.map((f) => [f.factorId, f.type, f.status, f.destination, f.createdAt]),
          ).map((line) => `  ${line}`),
        ]),
  ];
}

export function registerUsers(program: Command, contextOf: ContextOf): void {
  const user = program.command("user").description("one end user of an app");
  user
    .command("show")
    .description("MFA state, lockout, factors (destinations masked), sessions")
    .argument("<appId>")
    .argument("<userId>")
    .action(async (appId: string, userId: string, _options: unknown, command: Command) => {
      const { api, out } = contextOf(command);
      const view = await (await api()).getUser(appId, userId);
      out.result(view, () => userLines(view));
    });
  user
    .command("unlock")
    .description("lift a lockout after too many wrong codes")
    .argument("<appId>")
    .argument("<userId>")
    .action(async (appId: string, userId: string, _options: unknown, command: Command) => {
      const { api, out } = contextOf(command);
      await (await api()).unlockUser(appId, userId);
      out.result({ appId, userId, unlocked: true }, () => `Unlocked ${userId} in ${appId}.`);
    });

  program
    .command("sessions")
    .description("an app's session tokens")
    .command("revoke-all")
    .description("every session issued before now stops validating (all users log in again)")
    .argument("<appId>")
    .action(async (appId: string, _options: unknown, command: Command) => {
      const { api, out } = contextOf(command);
      await (await api()).revokeAllSessions(appId);
      out.result(
        { appId, revoked: true },
        () => `Every session of ${appId} issued before now is revoked; users must log in again.`,
      );
    });
}
