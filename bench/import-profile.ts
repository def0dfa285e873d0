import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { SourceMap } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { median } from "./stats.ts";

/** Where the time of one cold import goes, from V8's CPU profile of the child (median over runs, ms). */
export interface ImportProfile {
  name: string;
  /** Parsing and compiling the bundle's source (V8 `compileSourceTextModule`). */
  compileMs: number;
  /** Reading and decoding the .map because of `--enable-source-maps`. */
  sourceMapMs: number;
  /** Running module bodies, by npm package (`(own code)`; `(bundle top level)` for the hoisted ES module bodies V8 cannot tell apart). */
  evaluateMs: Map<string, number>;
  gcMs: number;
  /** Node's own start, the ESM loader, idle time, exit. */
  otherMs: number;
  totalMs: number;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const packageOf = (source: string): string => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (m?.[1]) return m[1];
  return /\/(functions|lib|bench)\//.test(source) ? "(own code)" : "(bundle top level)";
};

function runProfiled(
  childPath: string,
  file: string,
  nodeOptions: string,
  profileDir: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--cpu-prof", "--cpu-prof-interval", "100", "--cpu-prof-dir", profileDir, childPath, "time", file],
      {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          NODE_OPTIONS: nodeOptions,
          OTP_TABLE_NAME: "otp-service-bench",
          OTP_SERVICE_SECRET_ID: "otp-service/bench/service",
          AWS_REGION: "us-east-1",
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        },
        stdio: "ignore",
      },
    );
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`profiling ${file} exited ${code}`)),
    );
  });
}

/** The handler's file and its chunks: each frame is attributed through the source map of the file it is in. */
function attribute(
  profile: CpuProfile,
  bundleDir: string,
  mapOf: (url: string) => SourceMap | undefined,
): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const memo = new Map<number, string>();
  const categoryOf = (id: number): string => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    // Walk up: the first frame that says what this work is for decides.
    let category = "other";
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame) break;
      if (frame.functionName === "(garbage collector)") {
        category = "gc";
        break;
      }
      if (frame.url.startsWith("node:internal/source_map")) {
        category = "sourcemap";
        break;
      }
      if (frame.functionName === "compileSourceTextModule") {
        category = "compile";
        break;
      }
      const map = frame.url.startsWith(bundleDir) ? mapOf(frame.url) : undefined;
      if (map) {
        const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string };
        category = `pkg:${packageOf(entry.originalSource ?? "")}`;
        break;
      }
    }
    memo.set(id, category);
    return category;
  };
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const category = categoryOf(id);
    totals.set(category, (totals.get(category) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  totals.set("total", (profile.endTime - profile.startTime) / 1000);
  return totals;
}

/** Profiles `runs` cold imports of each bundle and attributes the samples through the bundle's source map. */
export async function profileImports(
  bundles: { name: string; file: string }[],
  settings: { childPath: string; nodeOptions: string; runs: number; workDir: string },
): Promise<ImportProfile[]> {
  const profiles: ImportProfile[] = [];
  for (const { name, file } of bundles) {
    const bundleDir = `${pathToFileURL(dirname(file)).href}/`;
    const maps = new Map<string, SourceMap | undefined>();
    const mapOf = (url: string): SourceMap | undefined => {
      if (!maps.has(url)) {
        try {
          maps.set(url, new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(url)}.map`, "utf8"))));
        } catch {
          maps.set(url, undefined);
        }
      }
      return maps.get(url);
    };
    const runs: Map<string, number>[] = [];
    for (let run = 0; run < settings.runs; run++) {
      const dir = await mkdtemp(join(settings.workDir, "prof-"));
      try {
        await runProfiled(settings.childPath, file, settings.nodeOptions, dir);
        const [profileFile] = await readdir(dir);
        if (!profileFile) continue;
        runs.push(
          attribute(
            JSON.parse(await readFile(join(dir, profileFile), "utf8")) as CpuProfile,
            bundleDir,
            mapOf,
          ),
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const med = (key: string) => median(runs.map((r) => r.get(key) ?? 0));
    const packages = new Set(runs.flatMap((r) => [...r.keys()].filter((k) => k.startsWith("pkg:"))));
    profiles.push({
      name,
      compileMs: med("compile"),
      sourceMapMs: med("sourcemap"),
      evaluateMs: new Map(
        [...packages].map((k) => [k.slice(4), med(k)] as [string, number]).sort((a, b) => b[1] - a[1]),
      ),
      gcMs: med("gc"),
      otherMs: med("other"),
      totalMs: med("total"),
    });
  }
  return profiles;
}
