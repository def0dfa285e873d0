/**
 * `npm run build:functions`: bundles each Lambda entry point of `functions/` into
 * `dist/functions/<name>/` (index.mjs, its source map, and the side modules in node_modules/),
 * the folders the construct deploys with `Code.fromAsset`. Prebuilt, so the construct works
 * from node_modules without esbuild, Docker or this repository's sources.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { externalModules, FUNCTION_BUNDLING, FUNCTION_NAMES, type SideModule } from "./function-bundling.ts";
import type { FunctionName } from "./routes.ts";

export const projectRoot = fileURLToPath(new URL("..", import.meta.url));
export const defaultFunctionsDir = join(projectRoot, "dist", "functions");

/** What `FUNCTION_BUNDLING` says, as esbuild's JS API takes it: every handler's options but its entry and output. */
export function bundlingOptions(): esbuild.BuildOptions {
  const b = FUNCTION_BUNDLING;
  return {
    absWorkingDir: projectRoot,
    bundle: true,
    platform: b.platform,
    format: b.format,
    target: b.target,
    minify: b.minify,
    sourcemap: b.sourcemap ? "linked" : false,
    sourcesContent: true,
    mainFields: [...b.mainFields],
    banner: { js: b.banner },
    external: externalModules(),
    // Whatever the code reaches through `import()` becomes a chunk of its own, parsed only when first
    // imported: the handler's file holds just what every request needs.
    splitting: true,
    entryNames: "index",
    chunkNames: `${b.chunkDir}/[name]-[hash]`,
    outExtension: { ".js": ".mjs" },
    logLevel: "error",
    plugins: [prebuiltOpenApi()],
  };
}

/**
 * Puts the OpenAPI document into the bundle as data, built here from the same route table and
 * zod schemas the local stack builds it from at run time (functions/http/openapi-prebuilt.ts).
 */
export function prebuiltOpenApi(): esbuild.Plugin {
  return {
    name: "prebuilt-openapi",
    setup(build) {
      // This repository's module only, whatever else ends in the same path.
      const target = join(projectRoot, "functions", "http", "openapi-prebuilt.ts");
      build.onLoad({ filter: /openapi-prebuilt\.ts$/ }, async (args) => {
        if (args.path !== target) return undefined;
        const { openApiBody } = await import("../functions/http/openapi.ts");
        const body = JSON.stringify(openApiBody());
        return {
          contents: `const body = ${body};\nexport const documentBody = async () => body;\n`,
          loader: "js",
        };
      });
    },
  };
}

/** The esbuild options of one handler. */
export function handlerBuildOptions(name: FunctionName, outDir: string): esbuild.BuildOptions {
  return {
    ...bundlingOptions(),
    entryPoints: [join(projectRoot, "functions", `${name}.ts`)],
    outdir: join(outDir, name),
  };
}

async function buildSideModule(module: SideModule, outDir: string): Promise<void> {
  const dir = join(outDir, "node_modules", module.name);
  await esbuild.build({
    entryPoints: [join(projectRoot, "node_modules", module.name, module.entry)],
    absWorkingDir: projectRoot,
    bundle: true,
    platform: FUNCTION_BUNDLING.platform,
    format: module.format,
    target: FUNCTION_BUNDLING.target,
    minify: FUNCTION_BUNDLING.minify,
    ...(module.format === "esm" ? { banner: { js: FUNCTION_BUNDLING.banner } } : {}),
    outfile: join(dir, module.outFile),
    logLevel: "error",
  });
  const manifest = {
    name: module.name,
    ...(module.format === "esm" ? { type: "module" } : {}),
    main: module.outFile,
  };
  await writeFile(join(dir, "package.json"), JSON.stringify(manifest));
}

/**
 * Builds every handler, and its side modules beside it, into `outDir/<name>/`. The folder is
 * emptied first, so nothing stale ships; the output is deterministic, so an unchanged
 * source gives an unchanged asset hash and no Lambda update.
 */
export async function buildFunctions(outDir: string = defaultFunctionsDir): Promise<string> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await Promise.all(
    FUNCTION_NAMES.map(async (name) => {
      await esbuild.build(handlerBuildOptions(name, outDir));
      await Promise.all(FUNCTION_BUNDLING.sideModules.map((m) => buildSideModule(m, join(outDir, name))));
    }),
  );
  return outDir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outDir = process.argv[2] ?? defaultFunctionsDir;
  await buildFunctions(outDir);
}
