import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { CLIENT_TYPES_PATH, clientTypesSource, type LintReport, lintDocument } from "#lib/client/generate";

describe("the OpenAPI document as a published artifact", () => {
  it("generates exactly the committed client types (else: npm run generate:client)", async () => {
    const committed = await readFile(CLIENT_TYPES_PATH, "utf8");
    const generated = await clientTypesSource();
    expect(generated.length).toBeGreaterThan(10_000);
    expect(generated === committed, "lib/client/openapi-types.ts is stale: run npm run generate:client").toBe(
      true,
    );
  });

  it("passes redocly lint with the recommended rules: no error, and no warning beyond the accepted ones", async () => {
    const { report, ok } = await lintDocument("json");
    const parsed = JSON.parse(report) as LintReport;
    const found = parsed.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ""}`);
    expect(parsed.totals.errors, found.join("\n")).toBe(0);
    expect(ok).toBe(true);
    expect(found.sort()).toEqual([
      // The project has not chosen a license yet.
      "warn info-license #/info",
      // Public and without input: nothing a caller sends can make these answer 4xx.
      "warn operation-4xx-response #/paths/~1healthz/get/responses",
      "warn operation-4xx-response #/paths/~1openapi.json/get/responses",
    ]);
  });
});
