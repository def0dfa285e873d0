/**
 * `npx tsx bench/tracing-cost.ts [functionsDir]`: what opt-in tracing costs a cold start. Each run
 * is a fresh `node` that imports a built handler (`npm run build:functions` output) and, with
 * tracing on, then does what functions/http/tracing.ts does on the first invocation: imports the
 * Powertools Tracer side module, constructs the tracer and wraps an AWS SDK client. Prints medians.
 * Knob: BENCH_TRACING_RUNS (default 11).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { defaultFunctionsDir } from "../lib/build-functions.ts";
import { FUNCTION_NAMES } from "../lib/function-bundling.ts";
import { median } from "./stats.ts";

const CHILD = `
const [mode, dir] = process.argv.slice(1);
const t0 = performance.now();
await import(dir + "/index.mjs");
const t1 = performance.now();
if (mode === "on") {
  const { Tracer } = await import(dir + "/node_modules/@aws-lambda-powertools/tracer/index.mjs");
  const tracer = new Tracer({ serviceName: "otp-service" });
  if (!tracer.isTracingEnabled()) throw new Error("tracing did not turn on");
}
const t2 = performance.now();
process.stdout.write(JSON.stringify({ ms: t2 - t0, tracerMs: t2 - t1 }));
`;

/** Start to ready (ms), and of that the tracer's part (import, construct). */
function run(mode: "off" | "on", dir: string): Promise<{ ms: number; tracerMs: number }> {
  const env = {
    PATH: process.env.PATH,
    OTP_TABLE_NAME: "otp-service-bench",
    OTP_SERVICE_SECRET_ID: "otp-service/bench/service",
    AWS_REGION: "us-east-1",
    // A Lambda environment, or the tracer stays off whatever it is told.
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: "1",
  };
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", CHILD, mode, pathToFileURL(dir).href],
      {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
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
      if (code !== 0) return reject(new Error(`${mode} ${dir}: exit ${code}: ${err.slice(0, 1000)}`));
      resolve(JSON.parse(out) as { ms: number; tracerMs: number });
    });
  });
}

const functionsDir = process.argv[2] ?? defaultFunctionsDir;
const runs = Number(process.env.BENCH_TRACING_RUNS ?? 11);
console.log(
  "function | tracing off (ms) | tracing on (ms) | difference (ms) | tracer import + construct (ms)",
);
for (const name of FUNCTION_NAMES) {
  const dir = join(functionsDir, name);
  const off: number[] = [];
  const on: number[] = [];
  const tracer: number[] = [];
  // Interleaved, so load on the machine weighs on both alike.
  for (let i = 0; i < runs; i++) {
    off.push((await run("off", dir)).ms);
    const traced = await run("on", dir);
    on.push(traced.ms);
    tracer.push(traced.tracerMs);
  }
  const [a, b] = [median(off), median(on)];
  console.log(
    `${name} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b - a).toFixed(0)} | ${median(tracer).toFixed(0)} (${((median(tracer) / a) * 100).toFixed(0)}% of off)`,
  );
}
