import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const tsx = join(root, "node_modules", ".bin", "tsx");

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Every stack a test started: stopped after the file even when an assertion failed mid-test. */
const started = new Set<ChildProcess>();

/** Runs `npm start`'s program as a user would, and waits for its banner (or its exit). */
function start(dir: string, port: number): Promise<Started> {
  const child = spawn(tsx, ["bin/local.ts"], {
    cwd: root,
    env: {
      ...process.env,
      OTP_LOCAL_DIR: dir,
      PORT: String(port),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  started.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      started.delete(child);
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in 60 s:\n${out}`)), 60_000);
    const check = setInterval(() => {
      if (out.includes("Ctrl-C stops everything")) {
        clearInterval(check);
        clearTimeout(timer);
        resolve({ child, output: () => out, exited });
      }
    }, 50);
    void exited.then(() => {
      clearInterval(check);
      clearTimeout(timer);
      resolve({ child, output: () => out, exited });
    });
  });
}

const walkthrough = async (): Promise<string> => {
  const readme = await readFile(join(root, "README.md"), "utf8");
  const block = /<!-- walkthrough:start -->\s*```bash\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(
    readme,
  )?.[1];
  if (!block) throw new Error("README has no walkthrough block");
  return block;
};

/** The README's bash blocks marked `<!-- snippet:local -->`: they must run against `npm start` as written. */
const localSnippets = async (): Promise<string[]> => {
  const readme = await readFile(join(root, "README.md"), "utf8");
  return [...readme.matchAll(/<!-- snippet:local -->\s*```bash\n([\s\S]*?)```/g)].map((m) => m[1] as string);
};

let dir: string;
let port: number;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "otp-e2e-"));
  port = await freePort();
});
afterAll(async () => {
  await Promise.all(
    [...started].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.kill("SIGINT");
        }),
    ),
  );
  await rm(dir, { recursive: true, force: true });
});

describe("npm start, as a new user runs it", () => {
  it("the walk-through stops with a clear message, not a stack trace, when it finds no credentials", async () => {
    const missing = join(dir, "not-started");
    const failed = await run("bash", ["-euo", "pipefail", "-c", await walkthrough()], {
      cwd: root,
      env: { ...process.env, OTP_LOCAL_DIR: missing },
    }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr.trim()).toBe(
      `No ${missing}/credentials.json: run npm start first, here or with OTP_LOCAL_DIR set to its folder.`,
    );
    expect(failed?.stdout).toBe("");
  });

  it("prints working credentials, runs the README walk-through verbatim, and keeps data across a restart", async () => {
    const first = await start(dir, port);
    expect(first.child.exitCode).toBeNull();
    const credentials = JSON.parse(await readFile(join(dir, "credentials.json"), "utf8"));
    expect(credentials).toEqual({
      baseUrl: `http://127.0.0.1:${port}`,
      appId: "default",
      apiKey: expect.stringMatching(/^otpk_/),
      adminToken: expect.stringMatching(/^otpa_/),
    });
    expect(first.output()).toContain(credentials.apiKey);
    expect(first.output()).toContain(`http://127.0.0.1:${port}`);
    expect((await stat(join(dir, "credentials.json"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "secrets.json"))).mode & 0o777).toBe(0o600);

    const { stdout } = await run("bash", ["-euo", "pipefail", "-c", await walkthrough()], {
      cwd: root,
      env: { ...process.env, OTP_LOCAL_DIR: dir },
    });
    expect(stdout).toMatch(/"status":"active"/);
    expect(stdout).toMatch(/"recoveryCodes":\["[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}"/);
    expect(stdout).toContain('{"valid":true,"userId":"alice"');
    expect(stdout).toMatch(/etag: "1"/i);
    expect(stdout).toMatch(/^600$/m);
    expect(stdout).toMatch(/^5$/m);

    // A second run stops at its first step with the service's own answer, not curl's status line.
    const again = await run("bash", ["-euo", "pipefail", "-c", await walkthrough()], {
      cwd: root,
      env: { ...process.env, OTP_LOCAL_DIR: dir },
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(again?.code).toBe(1);
    expect(again?.stderr).toContain('"code":"factor_exists"');
    expect(again?.stderr).not.toMatch(/\n\s+at /);

    // Every other README snippet marked runnable, as written, in the same second terminal.
    const snippets = await localSnippets();
    expect(snippets.length).toBeGreaterThanOrEqual(4);
    for (const snippet of snippets) {
      const ran = await run("bash", ["-euo", "pipefail", "-c", snippet], {
        cwd: root,
        env: { ...process.env, OTP_LOCAL_DIR: dir },
      }).catch((error: { stdout: string; stderr: string }) => {
        throw new Error(`README snippet failed:\n${snippet}\n${error.stderr || error.stdout}`);
      });
      expect(ran.stderr, snippet).not.toMatch(/\n\s+at /);
    }

    const busy = await start(dir, port);
    expect(await busy.exited).toBe(1);
    expect(busy.output()).toContain(`Port ${port} is already in use`);

    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);
    const { stdout: processes } = await run("ps", ["-eo", "args"]);
    expect(processes).not.toContain(dir);

    const second = await start(dir, port);
    try {
      const again = JSON.parse(await readFile(join(dir, "credentials.json"), "utf8"));
      expect(again.apiKey).toBe(credentials.apiKey);
      const factors = await fetch(`http://127.0.0.1:${port}/v1/users/alice/factors`, {
        headers: { authorization: `Bearer ${credentials.apiKey}` },
      });
      expect(await factors.json()).toMatchObject({
        enabled: true,
        recoveryCodesRemaining: 10,
        factors: [expect.objectContaining({ type: "email", status: "active" })],
      });
    } finally {
      second.child.kill("SIGINT");
      await second.exited;
    }
  });
});
