import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "#lib/build-functions";

const run = promisify(execFile);

type Resource = { Type: string; Properties: Record<string, unknown> };

/**
 * A CDK app outside the repository that installs the packed package (what `npm pack` puts in
 * the tarball, no more) and its peers, imports `otp-service` by name and synthesizes two
 * instances, as a user's app would. The functions' code comes from the package's prebuilt
 * `dist/functions` (the infra tests' global setup built them); `dist/lib` is built here.
 */
let dir: string;
let app: string;
let template: { Resources: Record<string, Resource> };

const CONSUMER = `
import { App, Stack } from "aws-cdk-lib";
import { OtpService } from "otp-service";

const app = new App({ outdir: "cdk.out" });
const stack = new Stack(app, "Consumer");
new OtpService(stack, "Eu", { stage: "prod" });
new OtpService(stack, "Us", { stage: "dev", memorySize: { verify: 768 } });
app.synth();
`;

/** Type-checked against the package's .d.ts: a wrong prop fails the build of the user's app. */
const TYPED_CONSUMER = `
import { App, Stack } from "aws-cdk-lib";
import { OtpService, type OtpServiceProps } from "otp-service";

const props: OtpServiceProps = { stage: "prod", reservedConcurrency: { send: 10 } };
const stack = new Stack(new App(), "Consumer");
const service: OtpService = new OtpService(stack, "Otp", props);
export const url: string = service.url;
// @ts-expect-error memorySize per function takes function names only
new OtpService(stack, "Wrong", { stage: "dev", memorySize: { sned: 1024 } });
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "otp-consumer-"));
  await run("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: projectRoot });
  // --ignore-scripts: prepack would rebuild dist/functions under the other infra tests' feet.
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
    cwd: projectRoot,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  app = join(dir, "app");
  const installed = join(app, "node_modules", "otp-service");
  await mkdir(installed, { recursive: true });
  await run("tar", ["-xzf", join(dir, packed?.filename as string), "-C", installed, "--strip-components=1"]);
  // The peers a user's CDK app already has.
  for (const peer of ["aws-cdk-lib", "constructs", "@types/node"]) {
    await mkdir(join(app, "node_modules", peer, ".."), { recursive: true });
    await symlink(join(projectRoot, "node_modules", peer), join(app, "node_modules", peer), "dir");
  }
  await writeFile(
    join(app, "package.json"),
    JSON.stringify({ name: "consumer", type: "module", private: true }),
  );
  await writeFile(join(app, "app.mjs"), CONSUMER);
  await run(process.execPath, ["app.mjs"], { cwd: app });
  template = JSON.parse(
    readFileSync(join(app, "cdk.out", "Consumer.template.json"), "utf8"),
  ) as typeof template;
}, 240_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the packed package, used from a CDK app's node_modules", () => {
  it("ships the built construct and the prebuilt functions, not the sources", () => {
    const installed = join(app, "node_modules", "otp-service");
    for (const file of ["dist/lib/index.js", "dist/lib/index.d.ts", "dist/lib/otp-service.js"]) {
      expect(existsSync(join(installed, file)), file).toBe(true);
    }
    for (const fn of ["send", "verify", "enroll", "admin-config"]) {
      expect(existsSync(join(installed, "dist/functions", fn, "index.mjs")), fn).toBe(true);
      expect(existsSync(join(installed, "dist/functions", fn, "node_modules/twilio/index.js")), fn).toBe(
        true,
      );
    }
    expect(existsSync(join(installed, "lib"))).toBe(false);
    expect(existsSync(join(installed, "functions"))).toBe(false);
  });

  it("declares every package its built code imports as a dependency or peer", () => {
    const installed = join(app, "node_modules", "otp-service");
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
    };
    const declared = new Set([
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.peerDependencies),
    ]);
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".js") ? [join(dir, e.name)] : [],
      );
    const imported = new Set<string>();
    for (const file of [...files(join(installed, "dist/lib")), ...files(join(installed, "dist/bin"))]) {
      for (const [, spec] of readFileSync(file, "utf8").matchAll(/(?:from|import\()\s*"([^".][^"]*)"/g)) {
        if (!spec || spec.startsWith("node:")) continue;
        const parts = spec.split("/");
        imported.add(spec.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] as string));
      }
    }
    expect(imported.size).toBeGreaterThan(5);
    // Its own name resolves through its exports (and shows in doc comments).
    expect([...imported].filter((name) => name !== "otp-service" && !declared.has(name))).toEqual([]);
  });

  it("installs the otp-admin command, which runs on plain Node from the package", async () => {
    const installed = join(app, "node_modules", "otp-service");
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as {
      bin: Record<string, string>;
    };
    expect(manifest.bin).toEqual({ "otp-admin": "dist/bin/otp-admin.js" });
    // The CLI's own dependencies, as npm would install them beside the package.
    for (const dep of [
      "commander",
      "@smithy/signature-v4",
      "@aws-crypto/sha256-js",
      "@aws-sdk/credential-provider-node",
      "@aws-sdk/client-cloudformation",
      "openapi-fetch",
      "zod",
    ]) {
      await mkdir(join(app, "node_modules", dep, ".."), { recursive: true });
      await symlink(join(projectRoot, "node_modules", dep), join(app, "node_modules", dep), "dir").catch(
        () => {},
      );
    }
    const { stdout } = await run(
      process.execPath,
      [join(installed, manifest.bin["otp-admin"] as string), "--help"],
      { cwd: app },
    ).catch((error: { stderr: string }) => {
      throw new Error(error.stderr);
    });
    expect(stdout).toContain("Usage: otp-admin");
    expect(stdout).toContain("init");

    // The typed client, from its own export.
    const client = await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        'const m = await import("otp-service/client"); console.log(typeof m.createOtpClient);',
      ],
      { cwd: app },
    );
    expect(client.stdout.trim()).toBe("function");
  });

  it("synthesizes two instances with eight functions, each from its prebuilt folder in the package", () => {
    const functions = Object.values(template.Resources).filter((r) => r.Type === "AWS::Lambda::Function");
    expect(functions).toHaveLength(8);
    for (const fn of functions) {
      const name = /(send|verify|enroll|admin-config)$/.exec(String(fn.Properties.Description))?.[1];
      expect(name, String(fn.Properties.Description)).toBeDefined();
      const key = (fn.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, "");
      const asset = join(app, "cdk.out", `asset.${key}`);
      const prebuilt = join(app, "node_modules/otp-service/dist/functions", name as string);
      const same = readFileSync(join(asset, "index.mjs")).equals(readFileSync(join(prebuilt, "index.mjs")));
      expect(same, `${asset} holds ${prebuilt}`).toBe(true);
      expect(existsSync(join(asset, "node_modules/@simplewebauthn/server/index.mjs"))).toBe(true);
      expect(fn.Properties.Handler).toBe("index.handler");
    }
    const verify = functions.filter((f) => String(f.Properties.Description).endsWith(" verify"));
    expect(verify.map((f) => f.Properties.MemorySize).sort()).toEqual([512, 768]);
  });

  it("gives the two instances distinct secret prefixes", () => {
    const prefixes = new Set(
      Object.values(template.Resources)
        .filter((r) => r.Type === "AWS::Lambda::Function")
        .map(
          (f) =>
            (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables.OTP_SECRET_PREFIX,
        ),
    );
    expect(prefixes.size).toBe(2);
  });

  it("says what to run when the prebuilt code is missing, instead of deploying nothing", async () => {
    const copy = join(dir, "broken");
    await mkdir(join(copy, "node_modules"), { recursive: true });
    await run("cp", [
      "-r",
      join(app, "node_modules", "otp-service"),
      join(copy, "node_modules", "otp-service"),
    ]);
    await rm(join(copy, "node_modules", "otp-service", "dist", "functions", "verify"), { recursive: true });
    for (const peer of ["aws-cdk-lib", "constructs"]) {
      await symlink(join(projectRoot, "node_modules", peer), join(copy, "node_modules", peer), "dir");
    }
    await writeFile(
      join(copy, "package.json"),
      JSON.stringify({ name: "broken", type: "module", private: true }),
    );
    await writeFile(join(copy, "app.mjs"), CONSUMER);
    const failure = await run(process.execPath, ["app.mjs"], { cwd: copy }).then(
      () => "synthesized",
      (error: { stderr?: string }) => error.stderr ?? String(error),
    );
    expect(failure).toContain("no prebuilt Lambda code at");
    expect(failure).toContain("dist/functions/verify");
    expect(failure).toContain("npm run build");
  }, 60_000);

  it("types the props for TypeScript users through the package's exports, and the README's example compiles", async () => {
    await writeFile(join(app, "typed.ts"), TYPED_CONSUMER);
    const readme = readFileSync(join(projectRoot, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Use it from your CDK app"));
    const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toContain('from "otp-service"');
    await writeFile(join(app, "readme-example.ts"), example as string);
    await writeFile(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
        },
        files: ["typed.ts", "readme-example.ts"],
      }),
    );
    const tsc = join(projectRoot, "node_modules", "typescript", "bin", "tsc");
    const result = await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app }).then(
      () => "ok",
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(result).toBe("ok");
  }, 120_000);
});
