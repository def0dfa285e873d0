import type { StackBundling } from "./bundle.ts";
import { type ColdMode, type ColdStartResult, PLATFORM, REQUIRED } from "./cold-start.ts";
import { type CostModel, PRICES, PRICES_TAKEN_ON, TRAFFIC, typicalUnits } from "./cost.ts";
import { sequentialGroups } from "./dynamo-recorder.ts";
import { type OperationResult, type OperationsResult, POOL, type Sample } from "./operations.ts";
import { kib, mean, median, min, mode, ms, quantile, ratio, table, tally, usd } from "./stats.ts";

export const TARGETS = {
  coldImportRatio: 1.3,
  /** Issue 13: the two functions on a sign-in's path, tighter. */
  coldImportRatioSendVerify: 1.15,
  verifyRoundTrips: 2,
  costPerMillionPairs: 6,
} as const;

export interface Machine {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  loadAverage: string;
}

export interface BenchResult {
  machine: Machine;
  stack: StackBundling;
  cold: ColdStartResult;
  ops: OperationsResult;
  cost: CostModel;
  elapsedSeconds: number;
}

export interface OpSummary {
  op: OperationResult;
  commands: string;
  requests: number;
  roundTrips: number;
  chain: string;
  share: number;
  rru: number;
  wru: number;
  p50: number;
  p99: number;
  meanMs: number;
  statuses: string;
  retries: number;
  late: number;
}

const callLabel = (c: { command: string; item: string; error: string | undefined }) =>
  `${c.command} ${c.item}${c.error === "ConditionalCheckFailedException" ? " (condition failed)" : ""}`.trim();

/** `UpdateItem CHALLENGE → UpdateItem STATE → BatchWriteItem SESSION+ZSESSION ∥ PutItem AUDIT` */
export function chainOf(sample: Sample | undefined): string {
  if (!sample) return "";
  return sequentialGroups(sample.calls)
    .map((group) => group.map(callLabel).join(" ∥ "))
    .join(" → ");
}

export function summarizeOp(op: OperationResult): OpSummary {
  const signature = (s: Sample) =>
    s.calls
      .map((c) => `${c.command} ${c.item}`)
      .sort()
      .join(",");
  const typical = mode(op.samples, signature);
  const sameShape = op.samples.filter((s) => typical.value && signature(s) === signature(typical.value));
  const trips = mode(sameShape, (s) => String(s.roundTrips));
  const example = trips.value;
  const units = typicalUnits(op.samples);
  const latencies = op.samples.map((s) => s.ms);
  const statuses = new Map<number, number>();
  for (const s of op.samples) statuses.set(s.status, (statuses.get(s.status) ?? 0) + 1);
  return {
    op,
    commands: tally((example?.calls ?? []).map((c) => `${c.command} ${c.item}`)),
    requests: example?.calls.reduce((n, c) => n + c.httpRequests, 0) ?? 0,
    roundTrips: example?.roundTrips ?? 0,
    chain: chainOf(example),
    share: typical.share,
    rru: units.rru,
    wru: units.wru,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    meanMs: mean(latencies),
    statuses: [...statuses.entries()].map(([status, n]) => `${status}×${n}`).join(", "),
    retries: op.samples.reduce(
      (n, s) => n + s.calls.reduce((m, c) => m + Math.max(0, c.httpRequests - 1), 0),
      0,
    ),
    late: op.samples.reduce((n, s) => n + s.late, 0),
  };
}

const importOf = (mode: ColdMode, name: string) => median(mode.timings.get(name)?.importMs ?? []);

export interface ColdRow {
  name: string;
  importMedian: number;
  importMin: number;
  readyMedian: number;
  wallMedian: number;
  importRatio: number;
  wallRatio: number;
}

export function coldRows(mode: ColdMode, names: readonly string[]): ColdRow[] {
  const floor = mode.timings.get("floor");
  const floorImport = median(floor?.importMs ?? []);
  const floorWall = median(floor?.wallMs ?? []);
  return ["floor", ...names].flatMap((name) => {
    const t = mode.timings.get(name);
    if (!t) return [];
    return [
      {
        name,
        importMedian: median(t.importMs),
        importMin: min(t.importMs),
        readyMedian: median(t.readyMs),
        wallMedian: median(t.wallMs),
        importRatio: median(t.importMs) / floorImport,
        wallRatio: median(t.wallMs) / floorWall,
      },
    ];
  });
}

export interface Verdicts {
  cold: {
    met: boolean;
    worst: ColdRow | undefined;
    rows: ColdRow[];
    /** send and verify within the tighter ratio. */
    sendVerifyMet: boolean;
    /** send's and verify's rows. */
    sendVerify: ColdRow[];
    /** The floor plus the platform every function loads (bench/floor-platform.ts). */
    platform: ColdRow | undefined;
    /** ...and the stored config's check (bench/floor-required.ts). */
    required: ColdRow | undefined;
  };
  roundTrips: { met: boolean; measured: number; summary: OpSummary | undefined };
  twilio: { met: boolean; detail: string };
  cost: { met: boolean; perMillion: number };
}

export function verdicts(result: BenchResult, summaries: OpSummary[]): Verdicts {
  const deployed = result.cold.modes[0];
  const rows = deployed
    ? coldRows(deployed, result.cold.functionNames).filter((r) => r.name !== "floor")
    : [];
  const worst = [...rows].sort((a, b) => b.importRatio - a.importRatio)[0];
  const sendVerify = rows.filter((r) => r.name === "send" || r.name === "verify");
  const references = deployed ? coldRows(deployed, [PLATFORM, REQUIRED]) : [];
  const verify = summaries.find((s) => s.op.name === "verify right code");
  const loaded = result.cold.lazy.filter((l) => l.evaluatedAtImport.includes("twilio"));
  const controlOk =
    result.cold.control !== undefined &&
    result.cold.control.evaluatedAtImport.length === 0 &&
    result.cold.control.evaluatedAfterLoad.includes("twilio");
  return {
    cold: {
      met: rows.every((r) => r.importRatio <= TARGETS.coldImportRatio),
      worst,
      rows,
      // Both must have been measured: a missing row is not a pass.
      sendVerifyMet:
        sendVerify.length === 2 &&
        sendVerify.every((r) => r.importRatio <= TARGETS.coldImportRatioSendVerify),
      sendVerify,
      platform: references.find((r) => r.name === PLATFORM),
      required: references.find((r) => r.name === REQUIRED),
    },
    roundTrips: {
      met: (verify?.roundTrips ?? Number.POSITIVE_INFINITY) <= TARGETS.verifyRoundTrips,
      measured: verify?.roundTrips ?? Number.NaN,
      summary: verify,
    },
    twilio: {
      met: loaded.length === 0 && controlOk && result.cold.lazy.length > 0,
      detail:
        loaded.length > 0
          ? `twilio ran at import in: ${loaded.map((l) => l.name).join(", ")}`
          : controlOk
            ? "no twilio module ran at import in any function (the control bundle proves the marker fires when it does)"
            : "inconclusive: the control bundle did not behave as expected",
    },
    cost: {
      met: result.cost.perMillionPairs <= TARGETS.costPerMillionPairs,
      perMillion: result.cost.perMillionPairs,
    },
  };
}

const yes = (met: boolean) => (met ? "**met**" : "**missed**");

export function renderReport(result: BenchResult): string {
  const { machine, stack, cold, ops, cost } = result;
  const summaries = ops.operations.map(summarizeOp);
  const v = verdicts(result, summaries);
  const floorLatency = ops.floor.map((s) => s.ms);
  const floorP50 = quantile(floorLatency, 0.5);
  const floorP99 = quantile(floorLatency, 0.99);
  const deployed = cold.modes[0];
  const out: string[] = [];
  // Blank lines between blocks: a paragraph right under a table would become one of its rows.
  const p = (...lines: string[]) => out.push(...lines.flatMap((line) => [line, ""]));

  p(
    "# otp-service benchmark results",
    `Written by \`npm run bench\` (bench/run.ts) on ${machine.date}; the whole run took ${result.elapsedSeconds.toFixed(0)} s. ` +
      "Every number below was measured on this machine in that run, except the prices, which are published list prices.",
  );
  p(
    table(
      ["machine", ""],
      [
        ["CPU", `${machine.cpu} (${machine.cores} cores)`],
        ["memory", `${machine.memoryGiB.toFixed(1)} GiB`],
        [
          "Node.js",
          `${machine.node} (the Lambdas run Node.js 22: absolute times there differ; ratios are what this compares)`,
        ],
        ["OS", machine.os],
        ["load average at start", machine.loadAverage],
      ],
    ),
  );

  // ---- targets --------------------------------------------------------------------------------
  const worst = v.cold.worst;
  p(
    "## Targets",
    table(
      ["target", "measured", "verdict"],
      [
        [
          `every function's cold import ≤ ${TARGETS.coldImportRatio}× the floor`,
          worst
            ? `worst ${worst.name} ${worst.importRatio.toFixed(2)}× (${ms(worst.importMedian)} ms vs floor ${ms(importOf(deployed as ColdMode, "floor"))} ms); ` +
              v.cold.rows.map((r) => `${r.name} ${r.importRatio.toFixed(2)}×`).join(", ") +
              `; whole process: ${v.cold.rows.map((r) => `${r.name} ${r.wallRatio.toFixed(2)}×`).join(", ")}`
            : "n/a",
          yes(v.cold.met),
        ],
        [
          `send and verify cold import ≤ ${TARGETS.coldImportRatioSendVerify}× the floor`,
          v.cold.sendVerify
            .map((r) => `${r.name} ${r.importRatio.toFixed(2)}× (whole process ${r.wallRatio.toFixed(2)}×)`)
            .join(", ") +
            [v.cold.platform, v.cold.required]
              .flatMap((r) => (r ? [r] : []))
              .map(
                (r) => `; ${r.name} ${r.importRatio.toFixed(2)}× (whole process ${r.wallRatio.toFixed(2)}×)`,
              )
              .join(""),
          yes(v.cold.sendVerifyMet),
        ],
        [
          `verify of a right code ≤ ${TARGETS.verifyRoundTrips} DynamoDB round trips`,
          `${v.roundTrips.measured} sequential round trips (${v.roundTrips.summary?.requests ?? "?"} requests)`,
          yes(v.roundTrips.met),
        ],
        ["twilio's code is never loaded at import", v.twilio.detail, yes(v.twilio.met)],
        [
          `cost ≤ $${TARGETS.costPerMillionPairs} per million send + verify pairs`,
          `${usd(cost.perMillionPairs, 2)} per million pairs (Twilio Verify: ${usd(cost.twilioPerMillion, 0)})`,
          yes(v.cost.met),
        ],
      ],
    ),
  );
  p(...missedTargets(result, v));

  // ---- 1. cold start ---------------------------------------------------------------------------
  p(
    "## 1. Cold start",
    "Each function is bundled with the esbuild JS API using the options `npm run build` ships (`lib/function-bundling.ts`) " +
      `(format ${stack.format}, target ${stack.target}, minify ${stack.minify}, source map ${stack.sourcemap ? "linked, with sources content" : "off"}, ` +
      `mainFields ${stack.mainFields.join(",")}, the build's \`require\` banner, externals [${[...stack.externalModules, ...stack.nodeModules].join(", ")}]). ` +
      "Code reached only through `import()` goes to chunks beside the handler's file (splitting), parsed when first imported: the AWS SDK's own lazy parts, " +
      "and the functions' numbering plans, QR renderer, otplib, SES client and OpenAPI document. " +
      "The floor (`bench/floor.ts`: one `UpdateItem` through lib-dynamodb, client built on first call like the functions' deps) is built the same way, so the SDK's lazy chunks are left out of both. " +
      `*${PLATFORM}* (\`bench/floor-platform.ts\`) is the floor plus the platform every function loads: Powertools Logger and Metrics, the Secrets Manager client (the service secret) and the EventBridge client (audit events); ` +
      `*${REQUIRED}* (\`bench/floor-required.ts\`) adds the app config's zod/mini check, so it is what every function must load before any code of its own; both are built the same way, clients on the first request; ` +
      "the gap between it and a function is the function's own code. " +
      `Each bundle is imported by a fresh \`node\` ${cold.runs} times (plus ${cold.warmups} discarded warm-up round), round-robin across bundles. ` +
      "**import** = `performance.now()` around `await import(bundle)` in the child (parse + link + evaluate), the number the target is judged on; " +
      "**ready** = process start (time origin) to import resolved; **process** = spawn to exit as the parent sees it (includes Node's own start, ~the same for all). " +
      "The handler is not invoked: the functions build their clients on the first request.",
    `Options: ${stack.origin.join("; ")}.`,
  );
  for (const [index, mode] of cold.modes.entries()) {
    const names = [PLATFORM, REQUIRED, ...cold.functionNames, ...cold.variantNames];
    const rows = coldRows(mode, names);
    p(
      `### ${mode.label}`,
      table(
        [
          "bundle",
          "parsed at import",
          "lazy chunks",
          ".map",
          "import median (ms)",
          "import min",
          "× floor",
          "ready median",
          "process median",
          "process × floor",
        ],
        rows.map((r) => {
          const b = cold.bundles.get(r.name);
          return [
            r.name,
            b ? kib(b.bytes) : "",
            b && b.chunkBytes > 0 ? kib(b.chunkBytes) : "",
            b && b.mapBytes > 0 ? kib(b.mapBytes) : "",
            ms(r.importMedian),
            ms(r.importMin),
            r.name === "floor" ? "1.00×" : `${r.importRatio.toFixed(2)}×`,
            ms(r.readyMedian),
            ms(r.wallMedian),
            r.name === "floor" ? "1.00×" : `${r.wallRatio.toFixed(2)}×`,
          ];
        }),
      ),
    );
    if (index === 0 && cold.variantNames.length > 0) p(cold.variantNote);
  }
  if (cold.profiles.length > 0) {
    p(
      "### Where the as-deployed import goes",
      `V8 CPU profile of ${cold.profileRuns} cold imports per bundle (100 µs sampling, medians, ms), attributed through the bundle's source map. ` +
        "*compile* = V8 parsing/compiling the handler's file and the chunks it imports statically (all of them, including code that never runs; not the lazy chunks only `import()` reaches); " +
        "*source map* = Node reading and decoding the .map because of `--enable-source-maps`; " +
        "*evaluate* = module bodies running, by package (V8 reports a frame by the function it is in: the bundle's top level, where esbuild " +
        "hoists the bodies of ES modules such as the project's own files and zod's, cannot be split and shows as *(bundle top level)*); " +
        "*other* = Node's own start, the loader, exit. Profiling slows everything a little.",
      table(
        ["bundle", "profiled total", "compile", "source map", "evaluate (top packages)", "GC", "other"],
        cold.profiles.map((pr) => {
          const evaluate = [...pr.evaluateMs.entries()];
          const evalTotal = evaluate.reduce((s, [, t]) => s + t, 0);
          return [
            pr.name,
            ms(pr.totalMs),
            ms(pr.compileMs),
            ms(pr.sourceMapMs),
            `${ms(evalTotal)}: ${evaluate
              .slice(0, 5)
              .map(([pkg, t]) => `${pkg} ${ms(t)}`)
              .join(", ")}`,
            ms(pr.gcMs),
            ms(pr.otherMs),
          ];
        }),
      ),
    );
  }
  p(
    "### Bundle composition (bytes in the bundle per package, top 8)",
    table(
      ["bundle", "packages"],
      ["floor", PLATFORM, REQUIRED, ...cold.functionNames, ...cold.variantNames].map((name) => {
        const b = cold.bundles.get(name);
        const top = [...(b?.packages.entries() ?? [])].sort((x, y) => y[1] - x[1]).slice(0, 8);
        return [name, top.map(([pkg, bytes]) => `${pkg} ${kib(bytes)}`).join(", ")];
      }),
    ),
  );
  p(
    "### twilio is never loaded at import",
    "Method: a second, instrumented build of each function adds one statement at the top of every twilio (and qrcode) module " +
      "that records the package in a global set. esbuild wraps each module it cannot hoist (anything reached through `import()`, all CommonJS) " +
      "in a lazy init closure, so the statement runs exactly when that module's body is evaluated. A fresh `node` imports the instrumented " +
      'bundle and reports the set. A control bundle (`export const load = () => import("twilio")`, same build) must report nothing at import ' +
      "and `twilio` after `load()`, which proves the marker fires. The metafile also lists how the project's code reaches twilio.",
    table(
      ["function", "twilio bytes in bundle", "how own code reaches twilio", "packages evaluated at import"],
      cold.lazy.map((l) => [
        l.name,
        kib(l.twilioBytes),
        l.twilioEdges.join(", ") || "not at all",
        l.evaluatedAtImport.join(", ") || "none",
      ]),
    ),
    cold.control
      ? `Control: evaluated at import: ${cold.control.evaluatedAtImport.join(", ") || "none"}; after \`load()\`: ${cold.control.evaluatedAfterLoad.join(", ") || "none"}.`
      : "Control bundle missing.",
  );

  // ---- 2. round trips ---------------------------------------------------------------------------
  p(
    "## 2. DynamoDB round trips per operation",
    "The real handlers are driven in process with API Gateway v2 events (`buildEvent`, as in test/support/harness.ts) on the local stack " +
      `(dynalite in memory). The store and the audit trail are rebuilt on a DynamoDB client carrying two counting middlewares ` +
      "(initialize step: one per command; innermost deserialize step: one per HTTP request, inside the retry loop), " +
      `with the cloud's cache settings (${ops.cacheSettings}); the local stack itself caches nothing. ` +
      `Config, API key and secrets are warm: ${ops.warmups} warm-up iterations run first, then ${ops.iterations} measured. ` +
      "Providers are the local outbox (no email or SMS leaves). " +
      "*round trips* = HTTP requests grouped by overlap in time (requests running concurrently count once); the chain shows the order " +
      "(→ waits for the previous, ∥ runs alongside). RRU/WRU are the request units DynamoDB (dynalite) reported via " +
      "`ReturnConsumedCapacity`, at least 1 per request (a failed conditional write still costs 1 WRU). *typical* = share of samples with " +
      "exactly these commands; the rest are cache refreshes.",
    table(
      ["operation", "function", "commands", "requests", "round trips", "chain", "RRU", "WRU", "typical"],
      summaries.map((s) => [
        s.op.name + (s.op.note ? ` (${s.op.note})` : ""),
        s.op.fn,
        s.commands,
        String(s.requests),
        String(s.roundTrips),
        s.chain,
        String(s.rru),
        String(s.wru),
        `${(s.share * 100).toFixed(0)}%`,
      ]),
    ),
    `SDK retries seen: ${summaries.reduce((n, s) => n + s.retries, 0)}; DynamoDB requests started after a handler had answered: ${summaries.reduce((n, s) => n + s.late, 0)}.`,
    ...queryGrowth(ops.operations),
  );

  // ---- 3. latency --------------------------------------------------------------------------------
  p(
    "## 3. Warm latency",
    `Handler call to response, in process, same dynalite, ${ops.iterations} iterations per operation after ${ops.warmups} warm-up. ` +
      `The floor is one \`UpdateCommand\` through lib-dynamodb on the same dynalite and client settings: p50 ${ms(floorP50, 2)} ms, p99 ${ms(floorP99, 2)} ms. ` +
      "dynalite answers from a child process on this machine (LevelDB in memory), so absolute times are not DynamoDB's; " +
      "the ratio says how many floor-equivalents of work (round trips plus CPU) an operation costs.",
    table(
      ["operation", "p50 (ms)", "p99 (ms)", "mean", "p50 × floor", "p99 × floor", "statuses"],
      [
        ...summaries.map((s) => [
          s.op.name,
          ms(s.p50, 2),
          ms(s.p99, 2),
          ms(s.meanMs, 2),
          ratio(s.p50, floorP50),
          ratio(s.p99, floorP99),
          s.statuses,
        ]),
        [
          "floor: one UpdateItem",
          ms(floorP50, 2),
          ms(floorP99, 2),
          ms(mean(floorLatency), 2),
          "1.00×",
          "1.00×",
          "",
        ],
      ],
    ),
  );

  // ---- 4. cost -------------------------------------------------------------------------------------
  p(
    "## 4. Cost per million send + verify pairs",
    "A pair = `POST /v1/challenges` (email code, previous code used) + `POST /v1/verifications` (right code), with the request units and " +
      "durations measured above; SMS and email delivery are excluded. Amortized parts assume " +
      `${TRAFFIC.pairsPerMonth.toLocaleString("en-US")} pairs per 30-day month spread evenly, keeping ${TRAFFIC.warmContainersPerFunction} warm ` +
      "execution environment per function busy; the 5-minute secret cache and the 10 s / 60 s config and key caches then cost what is shown. " +
      "Lambda duration uses the durations measured here (dynalite on this CPU), an estimate: in Lambda, network round trips are slower and " +
      "a 512 MB arm64 function has about a third of a vCPU.",
    table(
      ["item", "per pair", "per million pairs", "how"],
      [
        ...cost.lines.map((l) => [
          l.item,
          `$${l.perPair.toExponential(3)}`,
          usd(l.perPair * 1e6, 3),
          l.detail,
        ]),
        ["**total**", `$${cost.perPair.toExponential(3)}`, `**${usd(cost.perMillionPairs, 2)}**`, ""],
      ],
    ),
    `Twilio Verify for the same million verifications: ${usd(cost.twilioPerMillion, 0)} (${PRICES.twilioVerify.what}), ` +
      `${(cost.twilioPerMillion / cost.perMillionPairs).toFixed(0)}× this service's AWS cost, before either side's delivery fees.`,
    `Fixed, not per pair: ${cost.fixedMonthly.map((f) => `${f.item} ${usd(f.perPair, 2)}/month (${f.detail})`).join("; ")}.`,
    `Sensitivity: if every invocation ran 3× longer than here, Lambda duration would add ${usd(
      (cost.lines.find((l) => l.item.startsWith("Lambda duration"))?.perPair ?? 0) * 2e6,
      2,
    )} per million pairs.`,
  );
  p(
    "### Prices used",
    `us-east-1, on-demand, no free tier; taken ${PRICES_TAKEN_ON} from stored copies of these pages (no live internet on this machine: verify before use).`,
    table(
      ["price", "source"],
      Object.values(PRICES).map((price) => [price.what, price.source]),
    ),
  );
  p(
    "### What each lever would save",
    table(
      ["lever", "kind", "saves per million pairs"],
      cost.levers.map((l) => [l.lever, l.kind, usd(l.savesPerMillion, 3)]),
    ),
  );
  return `${out.join("\n").trimEnd()}\n`;
}

/** The user Query reads the whole partition: how its units moved over a loop, where they did. */
function queryGrowth(operations: readonly OperationResult[]): string[] {
  const queryUnits = (sample: Sample | undefined) =>
    sample?.calls
      .filter((c) => c.command === "Query" && c.item === "USER*")
      .reduce((n, c) => n + (c.capacityUnits ?? 0), 0) ?? 0;
  const grown = operations.flatMap((op) => {
    const first = queryUnits(op.samples[0]);
    const last = queryUnits(op.samples[op.samples.length - 1]);
    return last > first ? [`${op.name}: ${first} → ${last} RRU over ${op.samples.length} samples`] : [];
  });
  if (grown.length === 0) return [];
  return [
    "The user Query (`loadUser`) reads every item in the user's partition, used and expired challenges included until TTL removes " +
      "them (DynamoDB deletes expired items late, typically within a few days), so its cost grows with a user's recent sends. " +
      `Where it grew during a loop: ${grown.join("; ")}. The cost model uses the login loop, where ${POOL_NOTE}.`,
  ];
}

const POOL_NOTE = `${POOL} users take turns, so each partition holds at most a handful of challenges`;

function missedTargets(result: BenchResult, v: Verdicts): string[] {
  const { cold, cost } = result;
  const lines: string[] = [];
  const deployed = cold.modes[0];
  const plain = cold.modes[1];
  if (!v.cold.met && deployed && v.cold.worst) {
    const floorImport = importOf(deployed, "floor");
    const worst = v.cold.worst;
    const floorBundle = cold.bundles.get("floor");
    const fnBundle = cold.bundles.get(worst.name);
    const twilioBytes = fnBundle?.packages.get("twilio") ?? 0;
    const variantRows = coldRows(deployed, cold.variantNames).filter((r) => r.name !== "floor");
    const profile = cold.profiles.find((pr) => pr.name === worst.name);
    const floorProfile = cold.profiles.find((pr) => pr.name === "floor");
    const evaluate = [...(profile?.evaluateMs.entries() ?? [])];
    lines.push(
      `**Cold import: missed.** The worst function (${worst.name}) imports in ${ms(worst.importMedian)} ms, ${worst.importRatio.toFixed(2)}× the ` +
        `floor's ${ms(floorImport)} ms: ${ms(worst.importMedian - TARGETS.coldImportRatio * floorImport)} ms over the ${TARGETS.coldImportRatio}× budget ` +
        `(${ms(TARGETS.coldImportRatio * floorImport)} ms). Every function misses: ${v.cold.rows.map((r) => `${r.name} ${r.importRatio.toFixed(2)}×`).join(", ")}. Why:`,
    );
    const why: string[] = [];
    if (fnBundle && floorBundle) {
      why.push(
        `- Size. ${worst.name} parses ${kib(fnBundle.bytes)} at import against the floor's ${kib(floorBundle.bytes)}` +
          (twilioBytes > 0
            ? `; twilio alone is ${kib(twilioBytes)} (${((100 * twilioBytes) / fnBundle.bytes).toFixed(0)}% of it), parsed though it never runs: `
            : ": ") +
          (profile && floorProfile
            ? `compiling took ${ms(profile.compileMs)} ms of the profiled import against ${ms(floorProfile.compileMs)} ms for the floor.`
            : "compile time grows with the bundle."),
      );
    }
    if (plain && profile && profile.sourceMapMs > 0) {
      const plainImport = median(plain.timings.get(worst.name)?.importMs ?? []);
      why.push(
        `- \`NODE_OPTIONS=--enable-source-maps\` (set by the stack): Node reads and decodes the ${kib(fnBundle?.mapBytes ?? 0)} source map at import ` +
          `(${ms(profile.sourceMapMs)} ms in the profile). Without the flag ${worst.name} imports in ${ms(plainImport)} ms ` +
          `(${(plainImport / importOf(plain, "floor")).toFixed(2)}× the floor without the flag). Measured on Node 20; Node 22 may load maps differently.`,
      );
    }
    if (evaluate.length > 0) {
      why.push(
        `- Module bodies: ${evaluate
          .slice(0, 5)
          .map(([pkg, t]) => `${pkg} ${ms(t)} ms`)
          .join(", ")} of evaluation in the profile` +
          (floorProfile
            ? ` (floor: ${ms([...floorProfile.evaluateMs.values()].reduce((s, t) => s + t, 0))} ms in total).`
            : "."),
      );
    }
    if (variantRows.length > 0) {
      const worstVariant = [...variantRows].sort((a, b) => b.importRatio - a.importRatio)[0];
      why.push(
        `- Leaving twilio out of the bundle (\`bundling.nodeModules: ["twilio"]\`, measured above as \`+nodeModules twilio\`) brings imports to ` +
          variantRows
            .map((r) => `${r.name.replace(" +nodeModules twilio", "")} ${r.importRatio.toFixed(2)}×`)
            .join(", ") +
          (worstVariant && worstVariant.importRatio > TARGETS.coldImportRatio
            ? `: better, still over ${TARGETS.coldImportRatio}×. What remains is every function bundling every adapter and SDK client ` +
              "(`functions/http/cloud-deps.ts` imports SES, Secrets Manager, Powertools, Twilio and Sinch adapters for all four) and zod's schema construction at import."
            : `: within ${TARGETS.coldImportRatio}×.`),
      );
      const plainVariants = plain ? coldRows(plain, cold.variantNames).filter((r) => r.name !== "floor") : [];
      if (plainVariants.length > 0) {
        why.push(
          "- Both cheap changes together (twilio out of the bundle and no `--enable-source-maps`, floor also without the flag): " +
            plainVariants
              .map((r) => `${r.name.replace(" +nodeModules twilio", "")} ${r.importRatio.toFixed(2)}×`)
              .join(", ") +
            ".",
        );
      }
    }
    lines.push(...why);
  }
  const { platform, required } = v.cold;
  if ((!v.cold.met || !v.cold.sendVerifyMet) && platform && required) {
    lines.push(
      `**What every function must load, before any code of its own** (the references in section 1, built and timed with the functions): ` +
        `${PLATFORM} (Powertools Logger and Metrics, the Secrets Manager and EventBridge clients) imports at ${platform.importRatio.toFixed(2)}× the floor, ` +
        `${REQUIRED} (and the stored config's zod/mini check) at ${required.importRatio.toFixed(2)}× ` +
        `(whole process ${platform.wallRatio.toFixed(2)}× and ${required.wallRatio.toFixed(2)}×). ` +
        (required.importRatio > TARGETS.coldImportRatioSendVerify
          ? `That is over send's and verify's ${TARGETS.coldImportRatioSendVerify}× before a line of theirs runs` +
            (required.importRatio > TARGETS.coldImportRatio
              ? `, and over every function's ${TARGETS.coldImportRatio}× too. `
              : ". ")
          : "") +
        `Each function's own code and request schemas add ${v.cold.rows
          .map((r) => `${r.name} ${(r.importRatio - required.importRatio).toFixed(2)}×`)
          .join(", ")}.`,
    );
  }
  if (!v.roundTrips.met && v.roundTrips.summary) {
    const s = v.roundTrips.summary;
    lines.push(
      `**Verify round trips: missed by ${s.roundTrips - TARGETS.verifyRoundTrips}.** A right code takes ${s.roundTrips} sequential round trips ` +
        `(${s.requests} requests): ${s.chain}. Each → waits for the one before it. The design needs two: reserve the ` +
        "attempt (a conditional write that returns the user item), then settle (a conditional write that spends the code and " +
        "proves the factor) beside the audit event (functions/core/verification.ts); anything else in the chain is a regression.",
    );
  }
  if (!v.cost.met) {
    const top = [...cost.lines].sort((a, b) => b.perPair - a.perPair).slice(0, 4);
    const saving = cost.levers
      .filter((l) => l.kind !== "architecture")
      .reduce((sum, l) => sum + l.savesPerMillion, 0);
    const architecture = cost.levers.filter((l) => l.kind === "architecture");
    lines.push(
      `**Cost: missed by ${usd(cost.perMillionPairs - TARGETS.costPerMillionPairs, 2)}** (${usd(cost.perMillionPairs, 2)} against ${usd(TARGETS.costPerMillionPairs, 2)} per million pairs). ` +
        `The largest items: ${top.map((l) => `${l.item} ${usd(l.perPair * 1e6, 2)}`).join(", ")}. ` +
        `API Gateway's two requests (${usd(2 * PRICES.httpApiRequest.usd * 1e6, 2)}) and Lambda's two invocations (${usd(2 * PRICES.lambdaRequest.usd * 1e6, 2)}) ` +
        "are fixed by the architecture; the rest is what the code and the stack's settings do per request. " +
        `The code and configuration levers below together would save ${usd(saving, 2)}, to ${usd(cost.perMillionPairs - saving, 2)}` +
        (cost.perMillionPairs - saving > TARGETS.costPerMillionPairs
          ? architecture.length > 0
            ? `, still over; ${architecture.map((l) => `${l.lever} would save another ${usd(l.savesPerMillion, 2)}`).join("; ")}.`
            : ", still over."
          : ", within the target."),
    );
  } else {
    lines.push(
      `Cost is within target with ${usd(TARGETS.costPerMillionPairs - cost.perMillionPairs, 2)} to spare.`,
      "",
    );
  }
  return lines;
}

/** The console summary. */
export function renderSummary(result: BenchResult): string {
  const summaries = result.ops.operations.map(summarizeOp);
  const v = verdicts(result, summaries);
  const floorP50 = quantile(
    result.ops.floor.map((s) => s.ms),
    0.5,
  );
  const rows = summaries.map((s) => [
    s.op.name,
    String(s.requests),
    String(s.roundTrips),
    `${s.rru}/${s.wru}`,
    ms(s.p50, 2),
    ms(s.p99, 2),
    ratio(s.p50, floorP50),
  ]);
  const pad = (cells: string[], widths: number[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  const header = ["operation", "requests", "round trips", "RRU/WRU", "p50 ms", "p99 ms", "p50×floor"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const cold = v.cold.rows
    .map((r) => `${r.name} ${ms(r.importMedian)} ms (${r.importRatio.toFixed(2)}×)`)
    .join(", ");
  const deployed = result.cold.modes[0];
  return [
    "",
    `cold import (median of ${result.cold.runs}, ${deployed?.label ?? ""}): floor ${ms(deployed ? importOf(deployed, "floor") : Number.NaN)} ms; ${cold}`,
    "",
    pad(header, widths),
    ...rows.map((r) => pad(r, widths)),
    `floor (one UpdateItem) p50 ${ms(floorP50, 2)} ms`,
    "",
    `cost per million send+verify pairs: ${usd(result.cost.perMillionPairs, 2)} (Twilio Verify ${usd(result.cost.twilioPerMillion, 0)})`,
    "",
    `target cold import ≤ ${TARGETS.coldImportRatio}× floor: ${v.cold.met ? "met" : `MISSED (worst ${v.cold.worst?.name} ${v.cold.worst?.importRatio.toFixed(2)}×)`}`,
    `target send and verify cold import ≤ ${TARGETS.coldImportRatioSendVerify}× floor: ${v.cold.sendVerifyMet ? "met" : "MISSED"} (` +
      [...v.cold.sendVerify, ...[v.cold.platform, v.cold.required].flatMap((r) => (r ? [r] : []))]
        .map((r) => `${r.name} ${r.importRatio.toFixed(2)}×`)
        .join(", ") +
      ")",
    `target verify ≤ ${TARGETS.verifyRoundTrips} round trips: ${v.roundTrips.met ? "met" : `MISSED (${v.roundTrips.measured})`}`,
    `target twilio not loaded at import: ${v.twilio.met ? "met" : `MISSED (${v.twilio.detail})`}`,
    `target cost ≤ $${TARGETS.costPerMillionPairs}/M pairs: ${v.cost.met ? "met" : `MISSED (${usd(v.cost.perMillion, 2)})`}`,
    "",
  ].join("\n");
}
