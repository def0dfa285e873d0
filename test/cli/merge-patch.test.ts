import { describe, expect, it } from "vitest";
import { parseValue, patchedPaths, patchFromSettings } from "#lib/cli/merge-patch";

describe("--set path=value into a merge patch", () => {
  it("parses JSON values and keeps everything else as text", () => {
    expect(parseValue("8")).toBe(8);
    expect(parseValue("null")).toBeNull();
    expect(parseValue('["US","CA"]')).toEqual(["US", "CA"]);
    expect(parseValue("+14155550100")).toBe("+14155550100");
    expect(parseValue("no-reply@shop.example")).toBe("no-reply@shop.example");
    expect(parseValue('"123"')).toBe("123");
    expect(parseValue("a=b")).toBe("a=b");
  });

  it("nests paths over a patch file's content, later settings winning, without changing the file's object", () => {
    const file = { code: { ttlSeconds: 120 }, mfa: { required: true } };
    const patch = patchFromSettings(
      ["code.length=8", "mfa.required=false", "templates.en.sms=Code {code}=ok"],
      file,
    );
    expect(patch).toEqual({
      code: { ttlSeconds: 120, length: 8 },
      mfa: { required: false },
      templates: { en: { sms: "Code {code}=ok" } },
    });
    expect(file).toEqual({ code: { ttlSeconds: 120 }, mfa: { required: true } });
    expect(patchedPaths(patch).map((p) => p.join("."))).toEqual([
      "code.ttlSeconds",
      "code.length",
      "mfa.required",
      "templates.en.sms",
    ]);
  });

  it("refuses a setting without a path, with an empty key, or under a value", () => {
    expect(() => patchFromSettings(["=8"])).toThrow(/path=value/);
    expect(() => patchFromSettings(["code..length=8"])).toThrow(/path=value/);
    expect(() => patchFromSettings(["code.length"])).toThrow(/path=value/);
    expect(() => patchFromSettings(["code=1", "code.length=8"])).toThrow(/code is already set to a value/);
  });
});
