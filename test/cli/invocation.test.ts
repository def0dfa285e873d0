import { describe, expect, it } from "vitest";
import { adminCommand } from "#lib/cli/invocation";

describe("adminCommand: the command hints name", () => {
  it("is npm's admin script when npm runs it, or when the CLI runs from its sources", () => {
    const installed = "file:///usr/lib/node_modules/otp-service/dist/lib/cli/invocation.js";
    expect(adminCommand({ npm_lifecycle_event: "admin" }, installed)).toBe("npm run admin --");
    expect(adminCommand({}, "file:///work/otp-service/lib/cli/invocation.ts")).toBe("npm run admin --");
    // This test runs the sources.
    expect(adminCommand({})).toBe("npm run admin --");
  });

  it("is otp-admin when the installed package's compiled code runs", () => {
    const installed = "file:///usr/lib/node_modules/otp-service/dist/lib/cli/invocation.js";
    expect(adminCommand({}, installed)).toBe("otp-admin");
    expect(adminCommand({ npm_lifecycle_event: "start" }, installed)).toBe("otp-admin");
  });
});
