/**
 * `npm run bench`: cold start, DynamoDB round trips, warm latency and cost against the floor.
 * Writes bench/RESULTS.md and prints a summary. Not part of `npm test`.
 *
 * Knobs (environment): BENCH_COLD_RUNS (default 11, at least 9), BENCH_ITERATIONS (default 200),
 * BENCH_WARMUPS (default 20), BENCH_PROFILE_RUNS (default 3).
 */
import { writeFile } from "node:fs/promises";
import { cpus, loadavg, release, totalmem, type } from "node:os";
import { join } from "node:path";
import { projectRoot, readStackBundling } from "./bundle.ts";
import { measureColdStart } from "./cold-start.ts";
import { costModel } from "./cost.ts";
import { measureOperations } from "./operations.ts";
import { renderReport, renderSummary } from "./report.ts";

const intFromEnv = (name: string, fallback: number, least: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < least) throw new Error(`${name} must be an integer ≥ ${least}`);
  return value;
};

const started = performance.now();
const log = (line: string) =>
  console.log(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);

const cpuList = cpus();
const machine = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpuList[0]?.model.trim() ?? "unknown",
  cores: cpuList.length,
  memoryGiB: totalmem() / 1024 ** 3,
  os: `${type()} ${release()}`,
  loadAverage: loadavg()
    .map((l) => l.toFixed(2))
    .join(" / "),
};
log(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadAverage}`);

const stack = await readStackBundling();
// Cold start first, while nothing else of ours runs on the machine.
const cold = await measureColdStart(stack, {
  runs: intFromEnv("BENCH_COLD_RUNS", 11, 9),
  warmups: 1,
  profileRuns: intFromEnv("BENCH_PROFILE_RUNS", 3, 1),
  progress: log,
});
const ops = await measureOperations({
  iterations: intFromEnv("BENCH_ITERATIONS", 200, 20),
  warmups: intFromEnv("BENCH_WARMUPS", 20, 1),
  progress: log,
});
const samplesOf = (name: string) => {
  const op = ops.operations.find((o) => o.name === name);
  if (!op) throw new Error(`operation ${name} was not measured`);
  return op.samples;
};
const cost = costModel({
  send: samplesOf("send email code"),
  verify: samplesOf("verify right code"),
  memoryMb: { send: stack.memoryMb.send, verify: stack.memoryMb.verify },
  sampleLogLines: {
    send: ops.sampleLogLines["POST /v1/challenges"] ?? "",
    verify: ops.sampleLogLines["POST /v1/verifications"] ?? "",
  },
});

const result = { machine, stack, cold, ops, cost, elapsedSeconds: (performance.now() - started) / 1000 };
const path = join(projectRoot, "bench/RESULTS.md");
await writeFile(path, renderReport(result));
console.log(renderSummary(result));
log(`wrote ${path}`);
