import type { AttrPath, Change, Condition, StateWrite } from "#core/model/state-write";
import type { UserState } from "#core/model/user";

/**
 * Reads the rules' conditions for the pure rule tests, as `model/state-write.ts` defines
 * them (DynamoDB's condition semantics: a comparison with an absent attribute is false). It
 * checks what a rule asks for; it applies no change and holds no state, so it is no store.
 * The adapter's rendering of the same conditions runs against dynalite in the use-case tests.
 */
export function holds(condition: Condition | undefined, state: UserState | undefined): boolean {
  if (condition === undefined) return true;
  switch (condition.kind) {
    case "exists":
      return valueAt(state, condition.path) !== undefined;
    case "absent":
      return valueAt(state, condition.path) === undefined;
    case "cmp": {
      const stored = valueAt(state, condition.path);
      if (stored === undefined) {
        if (condition.op === "<>") throw new Error("`<>` with an absent attribute: not used by any rule");
        return false;
      }
      return compare(stored, condition.op, condition.value);
    }
    case "contains": {
      const stored = valueAt(state, condition.path);
      if (stored instanceof Set || Array.isArray(stored)) return [...stored].includes(condition.value);
      return typeof stored === "string" && stored.includes(condition.value);
    }
    case "and":
      return condition.of.every((c) => holds(c, state));
    case "or":
      return condition.of.some((c) => holds(c, state));
  }
}

/** Whether `write` would be refused on `state`. */
export const refusedOn = (write: StateWrite, state: UserState | undefined): boolean =>
  !holds(write.condition, state);

function valueAt(state: UserState | undefined, path: AttrPath): unknown {
  let value: unknown = state;
  for (const segment of path) {
    if (value === null || typeof value !== "object" || value instanceof Set) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

function compare(stored: unknown, op: string, value: unknown): boolean {
  if (op === "=") return stored === value;
  if (op === "<>") return stored !== value;
  if (typeof stored !== typeof value || (typeof stored !== "number" && typeof stored !== "string"))
    return false;
  const [a, b] = [stored as number | string, value as number | string];
  if (op === "<") return a < b;
  if (op === "<=") return a <= b;
  if (op === ">") return a > b;
  if (op === ">=") return a >= b;
  throw new Error(`unknown comparison ${op}`);
}

const key = (path: AttrPath) => path.join(".");

/** A change as plain data: `set` and `add` by dotted path, `remove` and `delete` as lists. */
export function changeOf(change: Change): {
  set: Record<string, unknown>;
  add: Record<string, unknown>;
  remove: string[];
  delete: Record<string, unknown>;
} {
  return {
    set: Object.fromEntries((change.set ?? []).map(([path, value]) => [key(path), value])),
    add: Object.fromEntries((change.add ?? []).map(([path, value]) => [key(path), value])),
    remove: (change.remove ?? []).map(key),
    delete: Object.fromEntries((change.delete ?? []).map(([path, value]) => [key(path), value])),
  };
}
