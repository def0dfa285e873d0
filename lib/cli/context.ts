import type { Command } from "commander";
import type { AdminApi } from "./admin-api.ts";
import type { CliIo, Output } from "./io.ts";

/** What a command's action gets: the API of the chosen target, the output and the process's io. */
export interface Context {
  api(): Promise<AdminApi>;
  out: Output;
  io: CliIo;
  /** This CLI as the user runs it here (`npm run admin --` or `otp-admin`), for the commands hints name. */
  self: string;
}

/** Builds a command's context from the global options as parsed for it. */
export type ContextOf = (command: Command) => Context;

/** Ends the run with this exit code once its output is written (`doctor` when not ready). */
export class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = "Exit";
  }
}
