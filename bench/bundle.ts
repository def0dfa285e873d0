import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

export const projectRoot = fileURLToPath(new URL("..", import.meta.url));

export const FUNCTIONS = ["send", "verify", "enroll", "admin-config"] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

/** The NodejsFunction bundling settings of `lib/otp-service.ts`, as far as they shape the bundle and its start. */
export interface StackBundling {
  format: "esm" | "cjs";
  target: string;
  minify: boolean;
  sourcemap: boolean;
  mainFields: string[];
  banner: string;
  /** `externalModules`: left out of the bundle (the runtime is expected to have them). */
  externalModules: string[];
  /** `nodeModules`: left out of the bundle and installed into the asset's node_modules. */
  nodeModules: string[];
  /** `NODE_OPTIONS=--enable-source-maps` in the functions' environment. */
  enableSourceMaps: boolean;
  architecture: "arm64" | "x86_64";
  memoryMb: Record<FunctionName, number>;
  /** Where each value came from: the stack file, or the brief's defaults when the file did not say. */
  origin: string[];
}

const DEFAULTS: Omit<StackBundling, "origin"> = {
  format: "esm",
  target: "node22",
  minify: true,
  sourcemap: true,
  mainFields: ["module", "main"],
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  externalModules: [],
  nodeModules: [],
  enableSourceMaps: false,
  architecture: "arm64",
  memoryMb: { send: 512, verify: 512, enroll: 512, "admin-config": 256 },
};

const stringList = (source: string | undefined): string[] =>
  [...(source ?? "").matchAll(/["'`]([^"'`]+)["'`]/g)].flatMap((m) => (m[1] ? [m[1]] : []));

function stringLiteral(literal: string): string {
  if (literal.startsWith('"')) return JSON.parse(literal) as string;
  // '...' or `...` without interpolation: unescape the quote only.
  return literal.slice(1, -1).replace(/\\(['`\\])/g, "$1");
}

/**
 * Reads the bundling options from the stack source (no synth: that would need the whole
 * CDK app). Anything the file does not state falls back to the documented defaults, and
 * the report says which.
 */
export async function readStackBundling(): Promise<StackBundling> {
  const path = join(projectRoot, "lib/otp-service.ts");
  const source = await readFile(path, "utf8").catch(() => undefined);
  if (source === undefined)
    return { ...DEFAULTS, origin: ["lib/otp-service.ts not found: defaults from the brief"] };
  const origin: string[] = [];
  const found = <T>(name: string, value: T | undefined, fallback: T): T => {
    origin.push(
      value === undefined ? `${name}: default (not found in the stack)` : `${name}: from the stack`,
    );
    return value ?? fallback;
  };
  const bool = (re: RegExp) => {
    const m = re.exec(source)?.[1];
    return m === undefined ? undefined : m === "true";
  };
  const bannerLiteral = /banner:\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`$]*`)/.exec(source)?.[1];
  const format = /format:\s*OutputFormat\.(ESM|CJS)/.exec(source)?.[1];
  const mainFields = /mainFields:\s*\[([^\]]*)\]/.exec(source)?.[1];
  const externals = /externalModules:\s*\[([^\]]*)\]/.exec(source)?.[1];
  const nodeModules = /nodeModules:\s*\[([^\]]*)\]/.exec(source)?.[1];
  const arch = /Architecture\.(ARM_64|X86_64)/.exec(source)?.[1];
  const memory: Partial<Record<FunctionName, number>> = {};
  for (const m of source.matchAll(/fn\(\s*"([\w-]+)"\s*,\s*"\w+"\s*,\s*(\d+)/g)) {
    if (m[1] && m[2] && (FUNCTIONS as readonly string[]).includes(m[1]))
      memory[m[1] as FunctionName] = Number(m[2]);
  }
  return {
    format: found(
      "format",
      format === undefined ? undefined : format === "ESM" ? "esm" : "cjs",
      DEFAULTS.format,
    ),
    target: found("target", /target:\s*["'`](node\d+)["'`]/.exec(source)?.[1], DEFAULTS.target),
    minify: found("minify", bool(/minify:\s*(true|false)/), DEFAULTS.minify),
    sourcemap: found("sourceMap", bool(/sourceMap:\s*(true|false)/), DEFAULTS.sourcemap),
    mainFields: found(
      "mainFields",
      mainFields === undefined ? undefined : stringList(mainFields),
      DEFAULTS.mainFields,
    ),
    banner: found(
      "banner",
      bannerLiteral === undefined ? undefined : stringLiteral(bannerLiteral),
      DEFAULTS.banner,
    ),
    externalModules: found(
      "externalModules",
      externals === undefined ? undefined : stringList(externals),
      DEFAULTS.externalModules,
    ),
    nodeModules: found("nodeModules", nodeModules === undefined ? undefined : stringList(nodeModules), []),
    // The flag as a value in code (NODE_OPTIONS: "...--enable-source-maps..."), not a mention in a comment.
    enableSourceMaps: found(
      "NODE_OPTIONS",
      /NODE_OPTIONS:\s*["'`][^"'`]*--enable-source-maps/.test(source),
      DEFAULTS.enableSourceMaps,
    ),
    architecture: found(
      "architecture",
      arch === undefined ? undefined : arch === "ARM_64" ? "arm64" : "x86_64",
      "arm64",
    ),
    memoryMb: found(
      "memorySize",
      Object.keys(memory).length === FUNCTIONS.length ? (memory as Record<FunctionName, number>) : undefined,
      DEFAULTS.memoryMb,
    ),
    origin,
  };
}

export interface BuiltBundle {
  name: string;
  file: string;
  bytes: number;
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

/** One esbuild run with the stack's options: what `NodejsFunction` runs as `esbuild --bundle ...`. */
export async function bundle(
  options: StackBundling,
  input: { name: string; entry?: string; stdin?: string; outDir: string; extraExternal?: string[] },
  plugins: esbuild.Plugin[] = [],
): Promise<BuiltBundle> {
  const file = join(input.outDir, input.name, options.format === "esm" ? "index.mjs" : "index.js");
  const result = await esbuild.build({
    ...(input.entry ? { entryPoints: [join(projectRoot, input.entry)] } : {}),
    ...(input.stdin
      ? { stdin: { contents: input.stdin, resolveDir: projectRoot, loader: "ts" as const } }
      : {}),
    absWorkingDir: projectRoot,
    bundle: true,
    platform: "node",
    format: options.format,
    target: options.target,
    minify: options.minify,
    // NodejsFunction's `--sourcemap`: an external .map next to the bundle, with sources content.
    sourcemap: options.sourcemap ? "linked" : false,
    sourcesContent: true,
    mainFields: options.mainFields,
    banner: { js: options.banner },
    external: [...options.externalModules, ...options.nodeModules, ...(input.extraExternal ?? [])],
    outfile: file,
    metafile: true,
    logLevel: "silent",
    plugins,
  });
  const output = Object.entries(result.metafile.outputs).find(([path]) => !path.endsWith(".map"))?.[1];
  if (!output) throw new Error(`esbuild produced no bundle for ${input.name}`);
  const packages = new Map<string, number>();
  for (const [path, info] of Object.entries(output.inputs)) {
    const pkg = packageOf(path);
    packages.set(pkg, (packages.get(pkg) ?? 0) + info.bytesInOutput);
  }
  const twilioEdges = new Set<string>();
  for (const [path, info] of Object.entries(result.metafile.inputs)) {
    if (packageOf(path) === "twilio") continue;
    for (const imported of info.imports) {
      if (imported.path === "twilio" || packageOf(imported.path) === "twilio")
        twilioEdges.add(imported.external ? `${imported.kind} (external)` : imported.kind);
    }
  }
  const mapBytes = options.sourcemap ? await stat(`${file}.map`).then((s) => s.size) : 0;
  return { name: input.name, file, bytes: output.bytes, mapBytes, packages, twilioEdges };
}
