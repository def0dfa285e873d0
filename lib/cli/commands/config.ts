import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { AdminApi } from "../admin-api.ts";
import type { JsonObject, VersionedConfig } from "../admin-types.ts";
import type { ContextOf } from "../context.ts";
import { ApiError, CliError } from "../errors.ts";
import { parseJsonObject, patchedPaths, patchFromSettings, valueAt } from "../merge-patch.ts";

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export async function readJsonFile(cwd: string, file: string, options: { secret?: boolean } = {}) {
  const path = resolve(cwd, file);
  const text = await readFile(path, "utf8").catch(() => {
    throw new CliError(`cannot read ${path}`);
  });
  return parseJsonObject(text, path, options);
}

/** Reads the config for its ETag, then sends the patch guarded by it. */
async function patchFromFresh(api: AdminApi, appId: string, patch: JsonObject) {
  const before = await api.getConfig(appId);
  const after = await api.patchConfig(appId, patch, before.etag);
  return { before, after };
}

export async function patchConfig(
  api: AdminApi,
  appId: string,
  patch: JsonObject,
  options: { retry?: boolean; onRetry?: () => void } = {},
): Promise<{ before: VersionedConfig; after: VersionedConfig }> {
  try {
    return await patchFromFresh(api, appId, patch);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === "version_conflict")) throw error;
    if (!options.retry) {
      throw new CliError(
        `${appId}'s config changed between this command's read and its write (412 version_conflict), so nothing was changed. ` +
          "Run the command again, or add --retry to apply the patch once more to the newest version.",
      );
    }
    options.onRetry?.();
    return patchFromFresh(api, appId, patch);
  }
}

/** `code.length: 6 → 8`, one line per path the patch set. */
export function changeLines(patch: JsonObject, before: JsonObject, after: JsonObject): string[] {
  const show = (value: unknown) => (value === undefined ? "(none)" : JSON.stringify(value));
  return patchedPaths(patch).map(
    (path) => `  ${path.join(".")}: ${show(valueAt(before, path))} → ${show(valueAt(after, path))}`,
  );
}

export function registerConfig(program: Command, contextOf: ContextOf): void {
  const config = program.command("config").description("an app's configuration (policy, senders, templates)");
  config
    .command("get")
    .description("print the config (its version is the ETag that guards writes)")
    .argument("<appId>")
    .action(async (appId: string, _options: unknown, command: Command) => {
      const { api, out } = contextOf(command);
      const { config: document } = await (await api()).getConfig(appId);
      out.result(document, () => JSON.stringify(document, null, 2));
    });
  config
    .command("patch")
    .description(
      "change some fields (RFC 7396 merge patch; null restores a default); the ETag is handled for you",
    )
    .argument("<appId>")
    .option("--file <file>", 'a JSON merge patch, e.g. {"code":{"length":8}}')
    .option(
      "--set <path=value>",
      "set one field, e.g. --set code.length=8 --set email.fromAddress=no-reply@shop.example (repeatable; JSON values are parsed)",
      collect,
      [],
    )
    .option(
      "--retry",
      "if someone else changed the config meanwhile, apply the patch once more to the newest version",
    )
    .action(
      async (appId: string, options: { file?: string; set: string[]; retry?: boolean }, command: Command) => {
        const { api, out, io } = contextOf(command);
        const base = options.file ? await readJsonFile(io.cwd, options.file) : {};
        const patch = patchFromSettings(options.set, base);
        if (Object.keys(patch).length === 0) throw new CliError("nothing to change: give --file or --set");
        const { before, after } = await patchConfig(await api(), appId, patch, {
          retry: options.retry,
          onRetry: () => out.note("The config changed meanwhile; applying the patch to the newest version."),
        });
        out.result(after.config, () => [
          `Config of ${appId} is now at version ${after.config.version}:`,
          ...changeLines(patch, before.config, after.config),
        ]);
      },
    );
  config
    .command("put")
    .description(
      'replace the whole config from a file (every field; its "version" guards against overwriting newer changes)',
    )
    .argument("<appId>")
    .requiredOption("--file <file>", "the whole config, e.g. as `config get` printed it, edited")
    .option("--force", "a file without a version: replace whatever config is current")
    .action(async (appId: string, options: { file: string; force?: boolean }, command: Command) => {
      const { api, out, io, self } = contextOf(command);
      const document = await readJsonFile(io.cwd, options.file);
      const version = document.version;
      // Without a version nothing tells when the file was read: guarding it with the current
      // ETag would silently overwrite whatever changed since, so only --force may do that.
      if (typeof version !== "number" && !options.force) {
        throw new CliError(
          `${options.file}: the file has no version: get the config, edit it, put it back; or pass --force to replace whatever is current.`,
        );
      }
      const ifMatch = typeof version === "number" ? `"${version}"` : "*";
      const client = await api();
      try {
        const { config: saved } = await client.putConfig(appId, document, ifMatch);
        out.result(saved, () => `Config of ${appId} replaced: now at version ${saved.version}.`);
      } catch (error) {
        if (error instanceof ApiError && error.code === "version_conflict") {
          throw new CliError(
            `${appId}'s config changed after version ${ifMatch} that ${options.file} was read at (412 version_conflict), so nothing was changed. ` +
              `Get it again (${self} config get ${appId}), redo the edit and put it back, or change single fields with ${self} config patch.`,
          );
        }
        throw error;
      }
    });
}
