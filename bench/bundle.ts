import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { bundlingOptions, projectRoot } from "../lib/build-functions.ts";
import { externalModules, FUNCTION_BUNDLING, FUNCTION_NAMES } from "../lib/function-bundling.ts";
import { FUNCTION_ARCHITECTURE, FUNCTION_DEFAULTS } from "../lib/otp-service.ts";
import type { FunctionName } from "../lib/routes.ts";

export type { FunctionName };
export { projectRoot };
export const FUNCTIONS = FUNCTION_NAMES;

/** The bundling settings `npm run build` uses (lib/function-bundling.ts), as far as they shape the bundle and its start. */
export interface StackBundling {
  format: "esm" | "cjs";
  target: string;
  minify: boolean;
  sourcemap: boolean;
  mainFields: string[];
  banner: string;
  /** Left out of the handler's bundle and shipped beside it in the asset's node_modules. */
  externalModules: string[];
  /** Left out of the bundle and installed into the asset's node_modules (variants only). */
  nodeModules: string[];
  /** `NODE_OPTIONS=--enable-source-maps` in the functions' environment. */
  enableSourceMaps: boolean;
  architecture: "arm64" | "x86_64";
  memoryMb: Record<FunctionName, number>;
  /** Where the values came from. */
  origin: string[];
}

/**
 * The options the deployed bundles are built with: imported from the build module and the
 * construct, so the bench measures exactly what `npm run build` ships.
 */
export async function readStackBundling(): Promise<StackBundling> {
  const b = FUNCTION_BUNDLING;
  return {
    format: b.format,
    target: b.target,
    minify: b.minify,
    sourcemap: b.sourcemap,
    mainFields: [...b.mainFields],
    banner: b.banner,
    externalModules: externalModules(),
    nodeModules: [],
    // The construct sets no NODE_OPTIONS (lib/otp-service.ts: the functions' environment).
    enableSourceMaps: false,
    architecture: FUNCTION_ARCHITECTURE.name === "arm64" ? "arm64" : "x86_64",
    memoryMb: Object.fromEntries(FUNCTIONS.map((fn) => [fn, FUNCTION_DEFAULTS[fn].memorySize])) as Record<
      FunctionName,
      number
    >,
    origin: [
      "bundling from lib/function-bundling.ts (FUNCTION_BUNDLING, what npm run build uses)",
      "memory and architecture from lib/otp-service.ts (FUNCTION_DEFAULTS, FUNCTION_ARCHITECTURE)",
    ],
  };
}

export interface BuiltBundle {
  name: string;
  file: string;
  /** The handler's file and the chunks it imports statically: what V8 parses at import. */
  bytes: number;
  /** The other chunks beside it (code reached only through `import()`): parsed when first imported. */
  chunkBytes: number;
  mapBytes: number;
  /** Bytes of the output per npm package (`(own code)` for the project's files). */
  packages: Map<string, number>;
  /** How the bundle's own code reaches each twilio module: `dynamic-import` only means it is loaded lazily. */
  twilioEdges: Set<string>;
}

const packageOf = (input: string): string => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return m?.[1] ?? "(own code)";
};

/**
 * Marks the first evaluation of any module of the given packages: a statement at the top
 * of each of their files adds the package name to `globalThis.__benchEvaluated`. esbuild
 * wraps every module it cannot hoist (everything behind `import()`, all CommonJS) in a
 * lazy `__esm`/`__commonJS` closure, so the mark fires exactly when that module's body runs.
 */
export function evaluationMarker(packages: readonly string[]): esbuild.Plugin {
  const names = packages.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|");
  return {
    name: "bench-evaluation-marker",
    setup(build) {
      build.onLoad(
        { filter: new RegExp(`[\\\\/]node_modules[\\\\/](${names})[\\\\/].*\\.[cm]?js$`) },
        async (args) => {
          const text = await readFile(args.path, "utf8");
          const pkg = packageOf(args.path.replace(/\\/g, "/"));
          const mark = `(globalThis.__benchEvaluated ??= new Set()).add(${JSON.stringify(pkg)});\n`;
          // Keep a hashbang and a "use strict" prologue first.
          const prologue = /^(#![^\n]*\n)?(\s*(["'])use strict\3;?[^\n]*\n)?/.exec(text)?.[0] ?? "";
          return { contents: prologue + mark + text.slice(prologue.length), loader: "js" };
        },
      );
    },
  };
}

/** One esbuild run with the build's options (`bundlingOptions()`), and the bench's overrides from `options`. */
export async function bundle(
  options: StackBundling,
  input: { name: string; entry?: string; stdin?: string; outDir: string; extraExternal?: string[] },
  plugins: esbuild.Plugin[] = [],
): Promise<BuiltBundle> {
  const file = join(input.outDir, input.name, options.format === "esm" ? "index.mjs" : "index.js");
  const result = await esbuild.build({
    ...bundlingOptions(),
    ...(input.entry ? { entryPoints: [join(projectRoot, input.entry)] } : {}),
    ...(input.stdin
      ? { stdin: { contents: input.stdin, resolveDir: projectRoot, loader: "ts" as const } }
      : {}),
    format: options.format,
    target: options.target,
    minify: options.minify,
    // An external .map next to the bundle, with sources content, as the build writes it.
    sourcemap: options.sourcemap ? "linked" : false,
    mainFields: options.mainFields,
    banner: { js: options.banner },
    external: [...options.externalModules, ...options.nodeModules, ...(input.extraExternal ?? [])],
    outdir: join(input.outDir, input.name),
    metafile: true,
    logLevel: "silent",
    // The build's own plugins (the prebuilt OpenAPI document), then the bench's.
    plugins: [...(bundlingOptions().plugins ?? []), ...plugins],
  });
  const outputs = new Map(Object.entries(result.metafile.outputs).filter(([path]) => !path.endsWith(".map")));
  // Chunks reached through import() have an entryPoint too: the handler's file is the one named like the build's.
  const entryPath = [...outputs.keys()].find((path) => join(projectRoot, path) === file || path === file);
  if (!entryPath) throw new Error(`esbuild produced no bundle for ${input.name}`);
  // What an import parses: the handler's file and every chunk it reaches through static imports (code it
  // shares with a lazy chunk lands in one of those), not the chunks only `import()` reaches.
  const atImport = new Set<string>();
  const visit = (path: string) => {
    if (atImport.has(path)) return;
    atImport.add(path);
    for (const imported of outputs.get(path)?.imports ?? []) {
      if (imported.kind === "import-statement" && !imported.external) visit(imported.path);
    }
  };
  visit(entryPath);
  let bytes = 0;
  let chunkBytes = 0;
  const packages = new Map<string, number>();
  for (const [path, info] of outputs) {
    if (!atImport.has(path)) {
      chunkBytes += info.bytes;
      continue;
    }
    bytes += info.bytes;
    for (const [source, part] of Object.entries(info.inputs)) {
      const pkg = packageOf(source);
      packages.set(pkg, (packages.get(pkg) ?? 0) + part.bytesInOutput);
    }
  }
  const twilioEdges = new Set<string>();
  for (const [path, info] of Object.entries(result.metafile.inputs)) {
    if (packageOf(path) === "twilio") continue;
    for (const imported of info.imports) {
      if (imported.path === "twilio" || packageOf(imported.path) === "twilio")
        twilioEdges.add(imported.external ? `${imported.kind} (external)` : imported.kind);
    }
  }
  // The maps of every file an import parses (only read with --enable-source-maps, which the stack does not set).
  let mapBytes = 0;
  if (options.sourcemap) {
    for (const path of atImport) mapBytes += (await stat(`${join(projectRoot, path)}.map`)).size;
  }
  return { name: input.name, file, bytes, chunkBytes, mapBytes, packages, twilioEdges };
}
