import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Stops the emulators a test file started (test/support/dynamodb.ts) when the file ends.
    setupFiles: ["test/support/stop-emulators.ts"],
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: "1",
    },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
