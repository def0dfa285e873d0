/**
 * How `npm run build` bundles each Lambda entry point (`lib/build-functions.ts` runs it, `bench/`
 * measures it): the one place these options are written down. No esbuild import here, so the
 * construct and its users never load the bundler.
 */
import type { FunctionName } from "./routes.ts";

export const FUNCTION_NAMES: readonly FunctionName[] = ["send", "verify", "enroll", "admin-config"];

/** Lets bundled CommonJS (twilio, parts of the AWS SDK) call `require` from an ES module. */
export const REQUIRE_BANNER =
  "import{createRequire as __otpRequire}from'node:module';const require=__otpRequire(import.meta.url);";

/** A package left out of the handler's file and shipped beside it, bundled on its own. */
export interface SideModule {
  readonly name: string;
  /** The file esbuild starts from, relative to the package's folder in node_modules. */
  readonly entry: string;
  readonly format: "cjs" | "esm";
  /** The file written to `node_modules/<name>/` beside the handler; its package.json names it `main`. */
  readonly outFile: "index.js" | "index.mjs";
}

export const FUNCTION_BUNDLING = {
  format: "esm",
  /** Node.js 22, the Lambda runtime the construct deploys. */
  target: "node22",
  platform: "node",
  minify: true,
  /** A linked `.map` ships beside the bundle for offline use; no `--enable-source-maps` (~90 ms per cold start). */
  sourcemap: true,
  mainFields: ["module", "main"],
  banner: REQUIRE_BANNER,
  /** The handler's file name: ESM, so `.mjs`; the Lambda handler is `index.handler`. */
  outFile: "index.mjs",
  /**
   * Code reached only through `import()` (numbering plans, the QR code renderer, the SES client, the
   * OpenAPI document), in chunks beside the handler: V8 parses a chunk when it is first imported.
   */
  chunkDir: "chunks",
  /**
   * The AWS SDK is bundled (the pinned versions the tests ran against, not whatever the runtime
   * ships). twilio (3 MB, two thirds of a bundle) is shipped beside the handler and parsed only when
   * the first Twilio SMS is sent; @simplewebauthn/server (~0.5 MB) only by the first WebAuthn request;
   * Powertools Tracer only when tracing is on.
   */
  sideModules: [
    { name: "twilio", entry: "lib/index.js", format: "cjs", outFile: "index.js" },
    { name: "@simplewebauthn/server", entry: "esm/index.js", format: "esm", outFile: "index.mjs" },
    // Opt-in tracing (functions/http/tracing.ts): with the X-Ray SDK ~1 MB, imported only when OTP_TRACING=1.
    { name: "@aws-lambda-powertools/tracer", entry: "lib/esm/index.js", format: "esm", outFile: "index.mjs" },
  ] satisfies readonly SideModule[],
} as const;

/** Left out of each handler's bundle: the side modules, resolved at run time from the asset's node_modules. */
export const externalModules = (): string[] => FUNCTION_BUNDLING.sideModules.map((m) => m.name);
