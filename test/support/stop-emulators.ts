import { afterAll } from "vitest";
import { stopEmulators } from "./emulator-registry.ts";

// A setup file (vitest.config.ts): this hook runs after every other afterAll of the test file.
afterAll(stopEmulators, 30_000);
