import { describe, expect, it } from "vitest";
import { applyMergePatch } from "#core/merge-patch";

describe("applyMergePatch (RFC 7396)", () => {
  // Appendix A of RFC 7396, every row: original, patch, result.
  const appendixA: [unknown, unknown, unknown][] = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [
      ["a", "b"],
      ["c", "d"],
      ["c", "d"],
    ],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];

  it.each(appendixA)("%j patched with %j is %j", (original, patch, result) => {
    expect(applyMergePatch(original, patch)).toEqual(result);
  });

  it("changes neither the target nor the patch", () => {
    const target = { a: { b: 1, c: [1, 2] } };
    const patch = { a: { b: null, d: { e: 1 } } };
    const before = structuredClone({ target, patch });
    expect(applyMergePatch(target, patch)).toEqual({ a: { c: [1, 2], d: { e: 1 } } });
    expect({ target, patch }).toEqual(before);
  });
});
