/** A JSON value as `JSON.parse` returns it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * RFC 7396 JSON Merge Patch, section 2's algorithm: an object patch merges member by member,
 * `null` removes a member, anything else (arrays included) replaces the target. Pure: neither
 * argument is changed.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [name, value] of Object.entries(patch)) {
    // JSON.parse makes `__proto__` an own key; merged by assignment it would set a prototype.
    if (UNSAFE_KEYS.has(name)) continue;
    if (value === null) delete result[name];
    else result[name] = applyMergePatch(result[name], value);
  }
  return result;
}
