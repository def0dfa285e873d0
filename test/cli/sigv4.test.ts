import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { signingFetch } from "#lib/cli/signing-fetch";
import { type Harness, startHarness } from "../support/harness.ts";
import { forwardTo, type SigV4Server, startSigV4Server } from "../support/sigv4-server.ts";
import { runInProcess } from "./run-cli.ts";

const root = join(import.meta.dirname, "..", "..");
const tsx = join(root, "node_modules", ".bin", "tsx");
const REGION = "eu-west-1";
// AWS's documented example key pair, plus a session token as an assumed role would have.
const CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  sessionToken: "session-token-example",
};
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
};

let h: Harness;
let server: SigV4Server;

beforeAll(async () => {
  h = await startHarness();
  server = await startSigV4Server({
    credentials: CREDENTIALS,
    region: REGION,
    handle: forwardTo(h.stack.url, h.stack.credentials.adminToken),
  });
  // The standard credential chain reads the process's environment first.
  for (const [name, value] of Object.entries(AWS_ENV)) vi.stubEnv(name, value);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await server?.close();
  await h?.stop();
});

/** signingFetch, with `tamper` changing the signed request on its way to the wire. */
const tamperedFetch = (tamper: (url: string, init: RequestInit) => [string, RequestInit]) =>
  signingFetch(CREDENTIALS, REGION, (input, init) => fetch(...tamper(String(input), init ?? {})));

describe("SigV4 signing (the verifying server re-signs with the AWS SDK's signer)", () => {
  it("the CLI with --url signs with credentials from the environment: the server accepts it and the command works", async () => {
    const created = await runInProcess([
      "--url",
      server.url,
      "--region",
      REGION,
      "--json",
      "apps",
      "create",
      "Signed",
    ]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const { appId } = JSON.parse(created.stdout) as { appId: string };

    const patched = await runInProcess([
      "--url",
      server.url,
      "--region",
      REGION,
      "config",
      "patch",
      appId,
      "--set",
      "code.length=8",
    ]);
    expect(patched.code).toBe(0);
    expect(patched.stdout).toContain("code.length: 6 → 8");

    // A query string (and an @ in a path segment, encoded twice in the canonical path) is signed too.
    const audit = await runInProcess([
      "--url",
      server.url,
      "--region",
      REGION,
      "audit",
      appId,
      "--user",
      "a@b.example",
      "--limit",
      "5",
    ]);
    expect(audit.code).toBe(0);
    const shown = await runInProcess([
      "--url",
      server.url,
      "--region",
      REGION,
      "user",
      "show",
      appId,
      "al+ice@x",
    ]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("User al+ice@x: MFA off");

    // create, the config read for its ETag, the patch, the audit page, the user
    expect(server.verdicts.map((v) => v.method)).toEqual(["POST", "GET", "PATCH", "GET", "GET"]);
    expect(server.verdicts.filter((v) => !v.accepted)).toEqual([]);
  });

  it("a real child process (npx tsx bin/otp-admin.ts) signs the same way", async () => {
    const { stdout } = await promisify(execFile)(
      tsx,
      ["bin/otp-admin.ts", "--url", `${server.url}/`, "apps", "list", "--json", "--region", REGION],
      {
        cwd: root,
        env: { ...process.env, ...AWS_ENV, OTP_LOCAL_DIR: "/nonexistent" },
      },
    );
    const { apps } = JSON.parse(stdout) as { apps: { name: string }[] };
    expect(apps.map((a) => a.name)).toContain("Signed");
    expect(server.verdicts.at(-1)).toMatchObject({ method: "GET", path: "/v1/admin/apps", accepted: true });
  });

  it("refuses a request whose body was changed after signing", async () => {
    const send = tamperedFetch((url, init) => [url, { ...init, body: JSON.stringify({ name: "Evil" }) }]);
    const result = await runInProcess(["--url", server.url, "--region", REGION, "apps", "create", "Good"], {
      send,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: The provided x-amz-content-sha256 header does not match");
    const apps = await h.call("GET", "/v1/admin/apps", { auth: "admin" });
    expect(JSON.stringify(apps.body)).not.toMatch(/Evil|Good/);
  });

  it("refuses a body changed together with its payload hash (the signature covers the hash)", async () => {
    const body = JSON.stringify({ name: "Evil" });
    const hash = Buffer.from(
      await (async () => {
        const s = new Sha256();
        s.update(body);
        return s.digest();
      })(),
    ).toString("hex");
    const send = tamperedFetch((url, init) => [
      url,
      {
        ...init,
        body,
        headers: { ...(init.headers as Record<string, string>), "x-amz-content-sha256": hash },
      },
    ]);
    const result = await runInProcess(["--url", server.url, "--region", REGION, "apps", "create", "Good"], {
      send,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("The request signature we calculated does not match");
  });

  it("refuses a request sent to another path or with another query than it was signed for", async () => {
    const pathSend = tamperedFetch((url, init) => [url.replace("/api-keys", "/sessions/revoke-all"), init]);
    const moved = await runInProcess(["--url", server.url, "--region", REGION, "keys", "create", "default"], {
      send: pathSend,
    });
    expect(moved.code).toBe(1);
    expect(moved.stderr).toContain("signature we calculated does not match");

    const querySend = tamperedFetch((url, init) => [url.replace("limit=5", "limit=6"), init]);
    const requeried = await runInProcess(
      ["--url", server.url, "--region", REGION, "audit", "default", "--limit", "5"],
      { send: querySend },
    );
    expect(requeried.code).toBe(1);
    expect(server.verdicts.at(-1)).toMatchObject({ accepted: false });
  });

  it("refuses an expired signature, a wrong secret key and a missing session token", async () => {
    const request = {
      method: "GET",
      protocol: "http:",
      hostname: "127.0.0.1",
      path: "/v1/admin/apps",
      headers: { host: new URL(server.url).host },
    };
    const signer = (credentials: typeof CREDENTIALS | Omit<typeof CREDENTIALS, "sessionToken">) =>
      new SignatureV4({ service: "execute-api", region: REGION, credentials, sha256: Sha256 });
    const send = async (signingDate: Date, credentials: Parameters<typeof signer>[0]) => {
      const signed = await signer(credentials).sign(request, { signingDate });
      const { host: _, ...headers } = signed.headers;
      return fetch(`${server.url}/v1/admin/apps`, { headers });
    };
    const fresh = await send(new Date(), CREDENTIALS);
    expect(fresh.status).toBe(200);
    const old = await send(new Date(Date.now() - 6 * 60_000), CREDENTIALS);
    expect(old.status).toBe(403);
    expect(((await old.json()) as { message: string }).message).toMatch(/^Signature expired/);
    const wrongKey = await send(new Date(), { ...CREDENTIALS, secretAccessKey: "not-the-secret" });
    expect(wrongKey.status).toBe(403);
    const { sessionToken: _, ...withoutToken } = CREDENTIALS;
    expect((await send(new Date(), withoutToken)).status).toBe(403);
    const unsigned = await fetch(`${server.url}/v1/admin/apps`);
    expect(unsigned.status).toBe(403);
  });

  it("--stage reads ApiUrl from the stack's outputs (CloudFormation's request is SigV4-checked too), then signs for the API", async () => {
    const cloudFormation = await startSigV4Server({
      credentials: CREDENTIALS,
      region: REGION,
      service: "cloudformation",
      handle: async (request) => {
        const form = new URLSearchParams(await request.text());
        if (form.get("Action") !== "DescribeStacks") return new Response("unexpected", { status: 400 });
        if (form.get("StackName") !== "OtpService-qa") {
          return new Response(
            `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${form.get("StackName")} does not exist</Message></Error><RequestId>r1</RequestId></ErrorResponse>`,
            { status: 400, headers: { "content-type": "text/xml" } },
          );
        }
        return new Response(
          `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>OtpService-qa</StackName><StackId>arn:aws:cloudformation:${REGION}:123456789012:stack/OtpService-qa/1</StackId>
<CreationTime>2026-12-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>
<Outputs><member><OutputKey>TableName</OutputKey><OutputValue>t</OutputValue></member>
<member><OutputKey>ApiUrl</OutputKey><OutputValue>${server.url}/</OutputValue></member></Outputs>
</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></DescribeStacksResponse>`,
          { status: 200, headers: { "content-type": "text/xml" } },
        );
      },
    });
    vi.stubEnv("AWS_ENDPOINT_URL_CLOUDFORMATION", cloudFormation.url);
    try {
      const before = server.verdicts.length;
      const listed = await runInProcess(["--stage", "qa", "--region", REGION, "apps", "list"]);
      expect(listed.stderr).toBe("");
      expect(listed.stdout).toMatch(/default\s+Default app/);
      expect(cloudFormation.verdicts).toEqual([expect.objectContaining({ method: "POST", accepted: true })]);
      expect(server.verdicts.slice(before)).toEqual([
        expect.objectContaining({ path: "/v1/admin/apps", accepted: true }),
      ]);

      const missing = await runInProcess(["--stage", "nope", "--region", REGION, "apps", "list"]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe(
        `error: no stack OtpService-nope in ${REGION}: deploy it (npx cdk deploy -c stage=...), or pass --stack-name / --region\n`,
      );
    } finally {
      vi.stubEnv("AWS_ENDPOINT_URL_CLOUDFORMATION", undefined);
      await cloudFormation.close();
    }
  });

  it("signs for the region in an execute-api host name when --region is not given", async () => {
    const seen: string[] = [];
    const send: typeof fetch = async (_input, init) => {
      seen.push(new Headers(init?.headers).get("authorization") ?? "");
      return new Response(JSON.stringify({ apps: [] }), { status: 200 });
    };
    const result = await runInProcess(
      ["--url", "https://abc123.execute-api.ap-southeast-2.amazonaws.com/", "apps", "list"],
      { send },
    );
    expect(result.code).toBe(0);
    expect(seen[0]).toMatch(/Credential=AKIDEXAMPLE\/\d{8}\/ap-southeast-2\/execute-api\/aws4_request/);
  });
});
