/**
 * A change to one stored item and the condition it is written under, said in the domain's
 * words. Rules build these; the store only renders them (DynamoDB: UpdateItem with a
 * ConditionExpression) and reports whether the condition held. No rule lives in a store.
 */
export type AttrPath = readonly string[];

export type Condition =
  | { kind: "exists" | "absent"; path: AttrPath }
  | { kind: "cmp"; path: AttrPath; op: "=" | "<>" | "<" | "<=" | ">" | ">="; value: unknown }
  | { kind: "contains"; path: AttrPath; value: string }
  | { kind: "and" | "or"; of: readonly Condition[] };

export interface Change {
  set?: ReadonlyArray<readonly [AttrPath, unknown]>;
  /** Numbers are added (a missing attribute counts as 0); sets are unioned. */
  add?: ReadonlyArray<readonly [AttrPath, number | ReadonlySet<string>]>;
  remove?: readonly AttrPath[];
  /** Elements taken out of a set. */
  delete?: ReadonlyArray<readonly [AttrPath, ReadonlySet<string>]>;
}

export interface StateWrite {
  change: Change;
  condition?: Condition;
}

export const exists = (...path: string[]): Condition => ({ kind: "exists", path });
export const absent = (...path: string[]): Condition => ({ kind: "absent", path });
export const cmp = (path: AttrPath, op: "=" | "<>" | "<" | "<=" | ">" | ">=", value: unknown): Condition => ({
  kind: "cmp",
  path,
  op,
  value,
});
export const eq = (path: AttrPath, value: unknown): Condition => cmp(path, "=", value);
export const contains = (path: AttrPath, value: string): Condition => ({ kind: "contains", path, value });
export const and = (...of: Array<Condition | undefined>): Condition => ({
  kind: "and",
  of: of.filter((c): c is Condition => c !== undefined),
});
export const or = (...of: Condition[]): Condition => ({ kind: "or", of });
/** `path` is absent, or compares as given: counters and times start absent. */
export const absentOr = (path: AttrPath, op: "=" | "<" | "<=" | ">" | ">=", value: unknown): Condition =>
  or(absent(...path), cmp(path, op, value));
/** `path` holds exactly `value`, where `undefined` means absent: the compare of a compare-and-set. */
export const still = (path: AttrPath, value: unknown): Condition =>
  value === undefined ? absent(...path) : eq(path, value);

/** One change of several; a later `set` of the same path wins (an update may not name a path twice). */
export const merge = (...changes: Change[]): Change => ({
  set: [
    ...new Map(
      changes.flatMap((c) => c.set ?? []).map(([p, v]) => [p.join("\u0000"), [p, v] as const]),
    ).values(),
  ],
  add: changes.flatMap((c) => c.add ?? []),
  remove: changes.flatMap((c) => c.remove ?? []),
  delete: changes.flatMap((c) => c.delete ?? []),
});
