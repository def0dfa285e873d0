import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Stops the emulators a test file started (test/support/dynamodb.ts) when the file ends.
    setupFiles: ["test/support/stop-emulators.ts"],
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: "1",
    },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: {
          name: "infra",
          include: ["test/infra/**/*.test.ts"],
          // The stacks deploy the prebuilt Lambda code: built once per run, only when infra tests run.
          globalSetup: ["test/infra/support/build-functions.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/infra/**"],
        },
      },
    ],
  },
});
