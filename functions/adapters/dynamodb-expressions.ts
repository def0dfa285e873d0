import type { AttrPath, Condition, StateWrite } from "#core/model/state-write";

export interface RenderedWrite {
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

/** Renders a rule's change and condition as DynamoDB expressions; it adds no meaning of its own. */
const isEmpty = (c: Condition): boolean => (c.kind === "and" || c.kind === "or") && c.of.every(isEmpty);

export function renderWrite(write: StateWrite): RenderedWrite {
  const names = new Map<string, string>();
  const values: Record<string, unknown> = {};
  const name = (segment: string): string => {
    let alias = names.get(segment);
    if (!alias) {
      alias = `#n${names.size}`;
      names.set(segment, alias);
    }
    return alias;
  };
  const path = (p: AttrPath): string => p.map(name).join(".");
  const value = (v: unknown): string => {
    const alias = `:v${Object.keys(values).length}`;
    values[alias] = v;
    return alias;
  };
  // DynamoDB refuses redundant parentheses: a group is wrapped only inside a group of the other kind.
  const condition = (c: Condition, parent?: "and" | "or"): string => {
    switch (c.kind) {
      case "exists":
        return `attribute_exists(${path(c.path)})`;
      case "absent":
        return `attribute_not_exists(${path(c.path)})`;
      case "cmp":
        return `${path(c.path)} ${c.op} ${value(c.value)}`;
      case "contains":
        return `contains(${path(c.path)}, ${value(c.value)})`;
      case "and":
      case "or": {
        const children = c.of.filter((child) => !isEmpty(child));
        if (children.length === 0) return "";
        if (children.length === 1) return condition(children[0] as Condition, parent);
        const joined = children.map((child) => condition(child, c.kind)).join(` ${c.kind.toUpperCase()} `);
        return parent !== undefined && parent !== c.kind ? `(${joined})` : joined;
      }
    }
  };
  const { set = [], add = [], remove = [], delete: del = [] } = write.change;
  const clauses = [
    set.length > 0 ? `SET ${set.map(([p, v]) => `${path(p)} = ${value(v)}`).join(", ")}` : "",
    remove.length > 0 ? `REMOVE ${remove.map(path).join(", ")}` : "",
    add.length > 0 ? `ADD ${add.map(([p, v]) => `${path(p)} ${value(v)}`).join(", ")}` : "",
    del.length > 0 ? `DELETE ${del.map(([p, v]) => `${path(p)} ${value(v)}`).join(", ")}` : "",
  ].filter(Boolean);
  const rendered = write.condition ? condition(write.condition) : "";
  return {
    UpdateExpression: clauses.join(" "),
    ...(rendered ? { ConditionExpression: rendered } : {}),
    ExpressionAttributeNames: Object.fromEntries([...names].map(([segment, alias]) => [alias, segment])),
    ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
  };
}
