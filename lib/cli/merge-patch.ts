import type { Json, JsonObject } from "./admin-types.ts";
import { CliError } from "./errors.ts";

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** `true`, `8`, `null`, `["US"]`, `"quoted"` are JSON; anything else (`+14155550100`, `no-reply@x.com`) is a string. */
export function parseValue(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

/**
 * `a.b.c=value` settings added to an RFC 7396 merge patch (a copy of `base`, e.g. a patch file):
 * each makes the nested objects it names and replaces what was at its path.
 */
export function patchFromSettings(settings: readonly string[], base: JsonObject = {}): JsonObject {
  const patch = structuredClone(base);
  for (const setting of settings) {
    const eq = setting.indexOf("=");
    const path = eq > 0 ? setting.slice(0, eq).split(".") : [];
    if (path.length === 0 || path.some((key) => key === "")) {
      throw new CliError(`--set takes path=value, e.g. code.length=8 (got ${JSON.stringify(setting)})`);
    }
    let node = patch;
    path.slice(0, -1).forEach((key, i) => {
      const next = node[key];
      if (next === undefined) node[key] = {};
      else if (!isObject(next)) {
        throw new CliError(
          `--set ${path.join(".")}: ${path.slice(0, i + 1).join(".")} is already set to a value, not an object`,
        );
      }
      node = node[key] as JsonObject;
    });
    node[path.at(-1) as string] = parseValue(setting.slice(eq + 1));
  }
  return patch;
}

/** The paths a merge patch sets (its leaves: values, arrays and nulls), e.g. `["code","length"]`. */
export function patchedPaths(patch: JsonObject, prefix: string[] = []): string[][] {
  return Object.entries(patch).flatMap(([key, value]) =>
    isObject(value) && Object.keys(value).length > 0
      ? patchedPaths(value, [...prefix, key])
      : [[...prefix, key]],
  );
}

export function valueAt(document: Json | undefined, path: readonly string[]): Json | undefined {
  let node = document;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** `secret`: the parser's message quotes the text, so for a secret it is left out. */
export function parseJsonObject(
  text: string,
  source: string,
  options: { secret?: boolean } = {},
): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const why = options.secret ? "" : ` (${error instanceof Error ? error.message : "parse error"})`;
    throw new CliError(`${source} is not JSON${why}`);
  }
  if (!isObject(value)) throw new CliError(`${source} must hold a JSON object`);
  return value;
}
