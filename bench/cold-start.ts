import { spawn } from "node:child_process";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  type BuiltBundle,
  bundle,
  evaluationMarker,
  FUNCTIONS,
  type FunctionName,
  projectRoot,
  type StackBundling,
} from "./bundle.ts";
import { type ImportProfile, profileImports } from "./import-profile.ts";
import { median, min } from "./stats.ts";

/**
 * The child: a fresh `node` that imports one bundle. `performance.now()` counts from the
 * process's time origin (its start), so `readyMs` is start -> import resolved and
 * `importMs` is the import alone (parse, link, evaluate the module graph).
 */
const CHILD = `
const [mode, file] = process.argv.slice(2);
const t0 = performance.now();
const mod = await import(file);
const t1 = performance.now();
const evaluated = [...(globalThis.__benchEvaluated ?? [])];
let afterLoad;
if (mode === "control") {
  await mod.load();
  afterLoad = [...(globalThis.__benchEvaluated ?? [])];
}
process.stdout.write(JSON.stringify({ importMs: t1 - t0, readyMs: t1, evaluated, afterLoad, exports: Object.keys(mod) }));
`;

/** Packages that must not run at import; only twilio is a target, qrcode is reported alongside. */
const LAZY_PACKAGES = ["twilio", "qrcode"] as const;

export interface ColdTiming {
  /** Import alone, in the child. */
  importMs: number[];
  /** Process start to import resolved, in the child. */
  readyMs: number[];
  /** spawn -> exit, seen by the parent (includes Node's own start and exit). */
  wallMs: number[];
}

export interface ColdMode {
  label: string;
  nodeOptions: string;
  timings: Map<string, ColdTiming>;
}

export interface LazyCheck {
  name: string;
  evaluatedAtImport: string[];
  twilioEdges: string[];
  twilioBytes: number;
}

export interface ColdStartResult {
  runs: number;
  warmups: number;
  bundles: Map<string, BuiltBundle>;
  /** Bundles built as `npm run build` does, then "what if twilio were left out of the bundle". */
  functionNames: string[];
  variantNames: string[];
  variantNote: string;
  modes: ColdMode[];
  lazy: LazyCheck[];
  control: { evaluatedAtImport: string[]; evaluatedAfterLoad: string[] } | undefined;
  /** CPU-profile attribution of the as-deployed imports. */
  profiles: ImportProfile[];
  profileRuns: number;
}

interface ChildReport {
  importMs: number;
  readyMs: number;
  evaluated: string[];
  afterLoad?: string[];
  exports: string[];
}

function runChild(
  childPath: string,
  file: string,
  mode: "time" | "check" | "control",
  nodeOptions: string,
): Promise<ChildReport & { wallMs: number }> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    NODE_OPTIONS: nodeOptions,
    // What the stack sets (names of things only), so the module sees a Lambda-like environment.
    OTP_TABLE_NAME: "otp-service-bench",
    OTP_SERVICE_SECRET_ID: "otp-service/bench/service",
    AWS_REGION: "us-east-1",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: "1",
  };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [childPath, mode, file], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0)
        return reject(new Error(`importing ${file} failed (exit ${code}): ${err.slice(0, 2000)}`));
      try {
        resolve({ ...(JSON.parse(out) as ChildReport), wallMs });
      } catch {
        reject(new Error(`unexpected output importing ${file}: ${out.slice(0, 500)} ${err.slice(0, 500)}`));
      }
    });
  });
}

/** The floor plus the platform every function loads (bench/floor-platform.ts). */
export const PLATFORM = "floor + platform";
/** ...and the stored config's check: what every function must load before its own code (bench/floor-required.ts). */
export const REQUIRED = "floor + required";
/** The bundles the functions are compared with, the floor first. */
export const REFERENCES = ["floor", PLATFORM, REQUIRED] as const;

export async function measureColdStart(
  options: StackBundling,
  settings: { runs: number; warmups: number; profileRuns: number; progress: (line: string) => void },
): Promise<ColdStartResult> {
  const dir = await mkdtemp(join(tmpdir(), "otp-bench-bundles-"));
  try {
    // Like the Lambda asset, where the build ships the externals (twilio, @simplewebauthn/server) in node_modules.
    await symlink(join(projectRoot, "node_modules"), join(dir, "node_modules"), "dir");
    const childPath = join(dir, "child.mjs");
    await writeFile(childPath, CHILD);

    const twilioAlreadyOut = [...options.externalModules, ...options.nodeModules].includes("twilio");
    const variantNote = twilioAlreadyOut
      ? "The stack already leaves twilio out of the bundle; no variant built."
      : 'Variant `+nodeModules twilio`: the same build with `bundling.nodeModules: ["twilio"]` (twilio external, ' +
        "installed into the asset's node_modules and loaded from there by the existing `import()`).";
    settings.progress(
      "bundling: floor, floor + platform, floor + required, 4 functions as npm run build does, 4 variants, 5 instrumented builds",
    );
    const plain = { ...options, sourcemap: false };
    // The laziness check instruments twilio's modules, so those builds bundle it even where the stack
    // ships it beside the handler: they then show that nothing reaches it but a dynamic import.
    const markable = {
      ...plain,
      externalModules: plain.externalModules.filter((m) => m !== "twilio"),
      nodeModules: plain.nodeModules.filter((m) => m !== "twilio"),
    };
    const jobs: Promise<BuiltBundle>[] = [
      bundle(options, { name: "floor", entry: "bench/floor.ts", outDir: dir }),
      bundle(options, { name: PLATFORM, entry: "bench/floor-platform.ts", outDir: dir }),
      bundle(options, { name: REQUIRED, entry: "bench/floor-required.ts", outDir: dir }),
      ...FUNCTIONS.map((fn) => bundle(options, { name: fn, entry: `functions/${fn}.ts`, outDir: dir })),
      ...(twilioAlreadyOut
        ? []
        : FUNCTIONS.map((fn) =>
            bundle(options, {
              name: `${fn} +nodeModules twilio`,
              entry: `functions/${fn}.ts`,
              outDir: dir,
              extraExternal: ["twilio"],
            }),
          )),
      // Instrumented copies for the laziness check (no source map needed there).
      ...FUNCTIONS.map((fn) =>
        bundle(markable, { name: `${fn} (marked)`, entry: `functions/${fn}.ts`, outDir: dir }, [
          evaluationMarker(LAZY_PACKAGES),
        ]),
      ),
      bundle(
        markable,
        { name: "control (marked)", stdin: 'export const load = () => import("twilio");', outDir: dir },
        [evaluationMarker(LAZY_PACKAGES)],
      ),
    ];
    const built = await Promise.all(jobs);
    settings.progress(`bundled ${built.length} bundles`);
    const bundles = new Map(built.map((b) => [b.name, b]));
    const functionNames = [...FUNCTIONS];
    const variantNames = twilioAlreadyOut ? [] : FUNCTIONS.map((fn) => `${fn} +nodeModules twilio`);

    // Laziness: import each marked bundle in a fresh process and list what ran.
    const lazy: LazyCheck[] = [];
    for (const fn of FUNCTIONS) {
      const marked = bundles.get(`${fn} (marked)`);
      const real = bundles.get(fn);
      if (!marked || !real) continue;
      const report = await runChild(childPath, marked.file, "check", "");
      if (!report.exports.includes("handler")) throw new Error(`${fn} bundle exports no handler`);
      lazy.push({
        name: fn,
        evaluatedAtImport: report.evaluated,
        twilioEdges: [...real.twilioEdges],
        twilioBytes: real.packages.get("twilio") ?? 0,
      });
    }
    const controlBundle = bundles.get("control (marked)");
    const control = controlBundle
      ? await runChild(childPath, controlBundle.file, "control", "").then((r) => ({
          evaluatedAtImport: r.evaluated,
          evaluatedAfterLoad: r.afterLoad ?? [],
        }))
      : undefined;

    // Timing: round-robin over the bundles so drift and noise spread evenly; warm-up rounds fill the page cache.
    const modes: ColdMode[] = [];
    const deployedOptions = options.enableSourceMaps ? "--enable-source-maps" : "";
    const modeSpecs = [
      {
        label: options.enableSourceMaps ? "as deployed (NODE_OPTIONS=--enable-source-maps)" : "as deployed",
        nodeOptions: deployedOptions,
        names: [...REFERENCES, ...functionNames, ...variantNames],
      },
      ...(options.enableSourceMaps
        ? [
            {
              label: "without --enable-source-maps",
              nodeOptions: "",
              names: [...REFERENCES, ...functionNames, ...variantNames],
            },
          ]
        : []),
    ];
    for (const spec of modeSpecs) {
      const timings = new Map<string, ColdTiming>(
        spec.names.map((n) => [n, { importMs: [], readyMs: [], wallMs: [] }]),
      );
      for (let round = 0; round < settings.warmups + settings.runs; round++) {
        // Rotate the start so no bundle always runs first (or right after the same neighbour).
        const order = spec.names.map((_, i) => spec.names[(i + round) % spec.names.length] as string);
        for (const name of order) {
          const file = bundles.get(name)?.file;
          if (!file) continue;
          const report = await runChild(childPath, file, "time", spec.nodeOptions);
          if (round < settings.warmups) continue;
          const t = timings.get(name);
          t?.importMs.push(report.importMs);
          t?.readyMs.push(report.readyMs);
          t?.wallMs.push(report.wallMs);
        }
      }
      const floor = timings.get("floor");
      settings.progress(
        `cold start ${spec.label}: floor import ${median(floor?.importMs ?? []).toFixed(1)} ms (min ${min(
          floor?.importMs ?? [],
        ).toFixed(1)}), ${functionNames
          .map((n) => `${n} ${median(timings.get(n)?.importMs ?? []).toFixed(1)} ms`)
          .join(", ")}`,
      );
      modes.push({ label: spec.label, nodeOptions: spec.nodeOptions, timings });
    }
    settings.progress("profiling the as-deployed imports");
    const profiles = await profileImports(
      [...REFERENCES, ...functionNames].flatMap((name) => {
        const file = bundles.get(name)?.file;
        return file ? [{ name, file }] : [];
      }),
      { childPath, nodeOptions: deployedOptions, runs: settings.profileRuns, workDir: dir },
    );
    return {
      profiles,
      profileRuns: settings.profileRuns,
      runs: settings.runs,
      warmups: settings.warmups,
      bundles,
      functionNames,
      variantNames,
      variantNote,
      modes,
      lazy,
      control,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const isFunction = (name: string): name is FunctionName =>
  (FUNCTIONS as readonly string[]).includes(name);
