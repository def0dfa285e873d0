import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { signingFetch } from "#lib/cli/signing-fetch";
import { CONSOLE_CSP } from "#lib/console-assets";
import { type ConsoleServer, startConsoleServer } from "#lib/console-server";
import { rawGet } from "../support/raw-get.ts";
import { type SigV4Server, startSigV4Server } from "../support/sigv4-server.ts";

const root = join(import.meta.dirname, "..", "..");
const tsx = join(root, "node_modules", ".bin", "tsx");
const REGION = "us-east-1";
// AWS's documented example key pair.
const CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

interface Seen {
  method: string;
  path: string;
  search: string;
  ifMatch: string | null;
  contentType: string | null;
  body: string;
}

// The deployed admin API as the console sees it: IAM-checked by the verifier, then a stand-in
// that answers the apps list, a config PATCH (If-Match → ETag, or 412 problem) and records requests.
let seen: Seen[] = [];
let upstream: SigV4Server;
let console_: ConsoleServer;

beforeAll(async () => {
  upstream = await startSigV4Server({
    credentials: CREDENTIALS,
    region: REGION,
    handle: async (request) => {
      const url = new URL(request.url);
      const body = await request.text();
      seen.push({
        method: request.method,
        path: url.pathname,
        search: url.search,
        ifMatch: request.headers.get("if-match"),
        contentType: request.headers.get("content-type"),
        body,
      });
      if (request.method === "GET" && url.pathname === "/v1/admin/apps") {
        return Response.json({ apps: [{ appId: "default", name: "Default app" }] });
      }
      if (request.method === "PATCH" && url.pathname === "/v1/admin/apps/default/config") {
        if (request.headers.get("if-match") !== '"3"') {
          return new Response(
            JSON.stringify({ title: "Precondition failed", status: 412, code: "version_conflict" }),
            { status: 412, headers: { "content-type": "application/problem+json" } },
          );
        }
        return Response.json({ version: 4 }, { headers: { etag: '"4"' } });
      }
      return new Response("unexpected", { status: 500 });
    },
  });
  console_ = await startConsoleServer({
    baseUrl: `${upstream.url}/`,
    fetch: signingFetch(CREDENTIALS, REGION),
  });
});

afterAll(async () => {
  await console_?.close();
  await upstream?.close();
});

beforeEach(() => {
  seen = [];
});

const origin = () => new URL(console_.url).origin;

/** A raw request, so the Host and Origin headers can be anything (fetch sets Host itself). */
/** `npm run console` as a child process that is expected to stop: its exit code and stderr. */
const runConsole = (
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stderr: string }> =>
  new Promise((resolve) => {
    const proc = spawn(tsx, ["bin/console.ts", ...args], {
      cwd: root,
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    proc.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    proc.once("exit", (code) => resolve({ code, stderr }));
  });

const raw = (path: string, headers: Record<string, string>) => rawGet(console_.port, path, headers);

describe("the console server (npm run console) against a SigV4-checked admin API", () => {
  it("serves the console's files with the strict CSP and sends / to /console/", async () => {
    const page = await fetch(console_.url);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    expect(await page.text()).toMatch(/<html/i);
    const script = await fetch(`${origin()}/console/console.js`);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(script.headers.get("content-security-policy")).toBe(CONSOLE_CSP);

    const home = await fetch(`${origin()}/`, { redirect: "manual" });
    expect(home.status).toBe(302);
    expect(home.headers.get("location")).toBe("/console/");
    expect((await fetch(`${origin()}/console/nope.js`)).status).toBe(404);
    expect(seen).toEqual([]);
  });

  it("forwards an admin call signed (the verifier accepts it), with its query, and returns the answer", async () => {
    const before = upstream.verdicts.length;
    const answer = await fetch(`${origin()}/console/api/admin/apps?limit=5&x=a%20b`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ apps: [{ appId: "default", name: "Default app" }] });
    expect(upstream.verdicts.slice(before)).toEqual([
      { method: "GET", path: "/v1/admin/apps?limit=5&x=a%20b", accepted: true },
    ]);
    expect(seen).toEqual([expect.objectContaining({ method: "GET", search: "?limit=5&x=a%20b" })]);
  });

  it("passes a PATCH's JSON body and If-Match up, and the ETag or the problem document back", async () => {
    const patch = { code: { length: 8 } };
    const ok = await fetch(`${origin()}/console/api/admin/apps/default/config`, {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json", "if-match": '"3"', origin: origin() },
      body: JSON.stringify(patch),
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("etag")).toBe('"4"');
    expect(await ok.json()).toEqual({ version: 4 });
    expect(seen[0]).toEqual({
      method: "PATCH",
      path: "/v1/admin/apps/default/config",
      search: "",
      ifMatch: '"3"',
      contentType: "application/merge-patch+json",
      body: JSON.stringify(patch),
    });
    expect(upstream.verdicts.at(-1)).toMatchObject({ method: "PATCH", accepted: true });

    const stale = await fetch(`${origin()}/console/api/admin/apps/default/config`, {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json", "if-match": '"2"' },
      body: JSON.stringify(patch),
    });
    expect(stale.status).toBe(412);
    expect(stale.headers.get("content-type")).toBe("application/problem+json");
    expect(await stale.json()).toMatchObject({ code: "version_conflict" });
  });

  it("forwards nothing but admin routes: client, local and unknown routes are 404, a wrong method 405", async () => {
    for (const [method, path] of [
      ["POST", "/console/api/challenges"],
      ["GET", "/console/api/users/u1/factors"],
      ["GET", "/console/api/admin/nothing"],
    ] as const) {
      const answer = await fetch(`${origin()}${path}`, {
        method,
        body: method === "POST" ? "{}" : undefined,
      });
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.headers.get("content-type")).toBe("application/problem+json");
      expect(await answer.json()).toMatchObject({ status: 404, code: "not_found" });
    }
    // Dot segments, which fetch would resolve before sending: the server must not let them through either.
    for (const path of [
      "/console/api/admin/apps/../../users/u1/factors",
      "/console/api/admin/apps/%2e%2e/%2E%2E/users/u1/factors",
      "/console/api/admin/apps/./config",
    ]) {
      const answer = await raw(path, { host: `127.0.0.1:${console_.port}` });
      expect(answer.status, path).toBe(404);
      expect(JSON.parse(answer.body)).toMatchObject({ code: "not_found" });
    }
    const wrong = await fetch(`${origin()}/console/api/admin/apps`, { method: "DELETE" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST, GET");
    expect(seen).toEqual([]);
  });

  it("refuses another site's Origin and a foreign Host (DNS rebinding) with 403, forwarding nothing", async () => {
    const crossSite = await fetch(`${origin()}/console/api/admin/apps`, {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ name: "Evil" }),
    });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.json()).toMatchObject({ code: "forbidden" });

    const rebound = await raw("/console/api/admin/apps", { host: `evil.example:${console_.port}` });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ code: "forbidden" });
    expect((await raw("/console/", { host: `evil.example:${console_.port}` })).status).toBe(403);
    // The loopback names themselves are fine.
    expect((await raw("/console/api/admin/apps", { host: `localhost:${console_.port}` })).status).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it("passes API Gateway's refusal of a bad signature back as it came (403 and its message)", async () => {
    const wrongKey = await startConsoleServer({
      baseUrl: upstream.url,
      fetch: signingFetch({ ...CREDENTIALS, secretAccessKey: "not-the-secret" }, REGION),
    });
    try {
      const refused = await fetch(`${new URL(wrongKey.url).origin}/console/api/admin/apps`);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { message: string }).message).toMatch(
        /signature we calculated does not match/,
      );
      expect(seen).toEqual([]);
    } finally {
      await wrongKey.close();
    }
  });

  it("answers 502 problem+json when the admin API cannot be reached, and keeps serving", async () => {
    const closedPort = await freePort();
    const orphan = await startConsoleServer({
      baseUrl: `http://127.0.0.1:${closedPort}`,
      fetch: signingFetch(CREDENTIALS, REGION),
    });
    try {
      const down = await fetch(`${new URL(orphan.url).origin}/console/api/admin/apps`);
      expect(down.status).toBe(502);
      expect(down.headers.get("content-type")).toBe("application/problem+json");
      const body = (await down.json()) as { code: string; detail: string };
      expect(body.code).toBe("upstream_unreachable");
      expect(body.detail).toContain(`127.0.0.1:${closedPort}`);
      expect((await fetch(orphan.url)).status).toBe(200);
    } finally {
      await orphan.close();
    }
  });
});

/** A port nothing listens on: bound, then released. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** This process's environment with only the given AWS settings (no profile or session token from the machine). */
function awsEnv(aws: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("AWS_")));
  return { ...env, AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: "1", ...aws };
}

/** The address bin/console.ts prints once it listens; rejects with its stderr if it exits first. */
function printedAddress(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const m = /Open (http:\/\/127\.0\.0\.1:\d+\/console\/)/.exec(stdout);
      if (m?.[1]) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
}

describe("bin/console.ts", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill("SIGTERM");
  });

  it("starts with --url and AWS credentials from the environment, prints the address, serves signed calls", async () => {
    child = spawn(tsx, ["bin/console.ts", "--url", `${upstream.url}/`, "--region", REGION, "--port", "0"], {
      cwd: root,
      env: awsEnv({
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const running = child;
    let stderr = "";
    running.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const address = await printedAddress(running);
    expect((await fetch(address)).headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    const before = upstream.verdicts.length;
    const apps = await fetch(`${new URL(address).origin}/console/api/admin/apps`);
    expect(apps.status).toBe(200);
    expect(await apps.json()).toMatchObject({ apps: [{ appId: "default" }] });
    expect(upstream.verdicts.slice(before)).toEqual([expect.objectContaining({ accepted: true })]);

    const exited = new Promise<number | null>((resolve) => running.once("exit", resolve));
    running.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toBe("");
  }, 30_000);

  it("--stage reads ApiUrl from the stack (CloudFormation's call is SigV4-checked too) and serves against it", async () => {
    const cloudFormation = await startSigV4Server({
      credentials: CREDENTIALS,
      region: REGION,
      service: "cloudformation",
      handle: async (request) => {
        const form = new URLSearchParams(await request.text());
        if (form.get("Action") !== "DescribeStacks" || form.get("StackName") !== "OtpService-qa") {
          return new Response("unexpected", { status: 400 });
        }
        return new Response(
          `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>OtpService-qa</StackName><StackId>arn:aws:cloudformation:${REGION}:123456789012:stack/OtpService-qa/1</StackId>
<CreationTime>2026-12-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>
<Outputs><member><OutputKey>ApiUrl</OutputKey><OutputValue>${upstream.url}/</OutputValue></member></Outputs>
</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></DescribeStacksResponse>`,
          { status: 200, headers: { "content-type": "text/xml" } },
        );
      },
    });
    const staged = spawn(tsx, ["bin/console.ts", "--stage", "qa", "--region", REGION, "--port", "0"], {
      cwd: root,
      env: awsEnv({
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.url,
      }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const address = await printedAddress(staged);
      expect(cloudFormation.verdicts).toEqual([expect.objectContaining({ method: "POST", accepted: true })]);
      const before = upstream.verdicts.length;
      const apps = await fetch(`${new URL(address).origin}/console/api/admin/apps`);
      expect(apps.status).toBe(200);
      expect(upstream.verdicts.slice(before)).toEqual([
        expect.objectContaining({ path: "/v1/admin/apps", accepted: true }),
      ]);
    } finally {
      staged.kill("SIGTERM");
      await cloudFormation.close();
    }
  }, 30_000);

  it("refuses to start without a target, naming the options", async () => {
    const result = await runConsole([], awsEnv({}));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: say which API: --stage <stage> \(or --url <apiUrl>\)/);
  }, 30_000);

  it("stops before serving when there are no AWS credentials to sign with", async () => {
    const home = await mkdtemp(join(tmpdir(), "console-home-"));
    try {
      const result = await runConsole(["--url", upstream.url, "--region", REGION, "--port", "0"], {
        ...awsEnv({ AWS_EC2_METADATA_DISABLED: "true" }),
        HOME: home,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error: no AWS credentials: /);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }, 30_000);

  it("says so when the port is taken (and warns when the API refuses the startup probe)", async () => {
    const taken = await startConsoleServer({ baseUrl: upstream.url, fetch });
    try {
      const result = await runConsole(
        ["--url", upstream.url, "--port", String(taken.port)],
        awsEnv({ AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "x", AWS_REGION: REGION }),
      );
      expect(result.code).toBe(1);
      // The key's secret is wrong: the startup probe's 403 is a warning, the port an error.
      expect(result.stderr).toBe(
        "warning: the admin API answered 403 to GET /v1/admin/apps; the console will show its refusals\n" +
          `error: port ${taken.port} on 127.0.0.1 is in use: pass --port <port> (or --port 0 for any free port)\n`,
      );
    } finally {
      await taken.close();
    }
  }, 30_000);
});
