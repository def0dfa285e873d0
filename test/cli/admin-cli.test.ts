import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enrollEmail, type Harness, startHarness } from "../support/harness.ts";
import { type RunOptions, runInProcess } from "./run-cli.ts";

const root = join(import.meta.dirname, "..", "..");
const tsx = join(root, "node_modules", ".bin", "tsx");

let h: Harness;
let files: string;

beforeAll(async () => {
  h = await startHarness();
  files = await mkdtemp(join(tmpdir(), "otp-cli-"));
});

afterAll(async () => {
  await h?.stop();
  await rm(files, { recursive: true, force: true });
});

/** The CLI against the harness's local stack, found the default way: OTP_LOCAL_DIR's credentials.json. */
const cli = (args: string[], options: RunOptions = {}) =>
  runInProcess(args, { cwd: files, ...options, env: { OTP_LOCAL_DIR: h.dir, ...options.env } });

/** A port nothing listens on (it was free a moment ago). */
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

const json = <T>(text: string): T => JSON.parse(text) as T;

describe("otp-admin against the local stack", () => {
  it("creates an app (its API key shown once) and lists it", async () => {
    const created = await cli(["apps", "create", "Shop"]);
    expect(created.code).toBe(0);
    const key = /\n {2}(otpk_\S+)\n/.exec(created.stdout)?.[1];
    expect(key).toBeDefined();
    expect(created.stdout).toContain("it is not shown again");
    const appId = /appId (\S+)\./.exec(created.stdout)?.[1] ?? "";
    // The key works on the client routes of that app.
    const factors = await h.http("GET", "/v1/users/alice/factors", { auth: key ?? "" });
    expect(factors.status).toBe(200);

    const listed = await cli(["apps", "list"]);
    expect(listed.stdout).toMatch(new RegExp(`${appId}\\s+Shop`));
    expect(listed.stdout).not.toContain(key);
    const raw = json<{ apps: { appId: string; name: string }[] }>(
      (await cli(["apps", "list", "--json"])).stdout,
    );
    expect(raw.apps).toContainEqual(expect.objectContaining({ appId, name: "Shop" }));
  });

  it("issues another key, and a revoked key is refused on the client routes with 401", async () => {
    const created = json<{ apiKey: string; keyId: string }>(
      (await cli(["keys", "create", "default", "--json"])).stdout,
    );
    expect((await h.http("GET", "/v1/users/bob/factors", { auth: created.apiKey })).status).toBe(200);
    const revoked = await cli(["keys", "revoke", "default", created.keyId]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`Revoked key ${created.keyId}`);
    expect((await h.http("GET", "/v1/users/bob/factors", { auth: created.apiKey })).status).toBe(401);
    // The app's first key still works.
    expect((await h.http("GET", "/v1/users/bob/factors")).status).toBe(200);
  });

  it("config patch --set changes only the named fields, with the ETag handled", async () => {
    const before = json<{ version: number; mfa: { required: boolean } }>(
      (await cli(["config", "get", "default"])).stdout,
    );
    const patched = await cli([
      "config",
      "patch",
      "default",
      "--set",
      "code.length=8",
      "--set",
      "email.fromAddress=no-reply@shop.example",
      "--set",
      'mfa.exemptUserIds=["api-bot"]',
    ]);
    expect(patched.stderr).toBe("");
    expect(patched.code).toBe(0);
    expect(patched.stdout).toContain(`now at version ${before.version + 1}`);
    expect(patched.stdout).toContain("code.length: 6 → 8");
    // Whatever the default was (a placeholder or none), the line shows it and the new value.
    expect(patched.stdout).toMatch(/email\.fromAddress: .+ → "no-reply@shop\.example"/);
    const after = (await h.call("GET", "/v1/admin/apps/default/config", { auth: "admin" })).body as {
      code: { length: number };
      email: { fromAddress: string };
      mfa: { required: boolean; exemptUserIds: string[] };
    };
    expect(after.code.length).toBe(8);
    expect(after.email.fromAddress).toBe("no-reply@shop.example");
    expect(after.mfa).toMatchObject({ required: before.mfa.required, exemptUserIds: ["api-bot"] });

    // A patch file and --set together; null restores a default.
    await writeFile(join(files, "patch.json"), JSON.stringify({ code: { ttlSeconds: 120, length: null } }));
    const fromFile = await cli([
      "config",
      "patch",
      "default",
      "--file",
      "patch.json",
      "--set",
      "stepUpSeconds=600",
      "--json",
    ]);
    expect(fromFile.code).toBe(0);
    expect(
      json<{ code: { length: number; ttlSeconds: number }; stepUpSeconds: number }>(fromFile.stdout),
    ).toMatchObject({
      code: { length: 6, ttlSeconds: 120 },
      stepUpSeconds: 600,
    });
  });

  it("a config changed between the CLI's read and write: explained without --retry, re-applied with it", async () => {
    // Another admin's edit lands just before each of the CLI's PATCHes.
    const concurrent =
      (fn: typeof fetch): typeof fetch =>
      async (input, init) => {
        const request = new Request(input, init);
        if (request.method === "PATCH" && !concurrentDone) {
          concurrentDone = true;
          const other = await h.call("PATCH", "/v1/admin/apps/default/config", {
            auth: "admin",
            rawBody: JSON.stringify({ recoveryCodes: { count: 12 } }),
            headers: { "content-type": "application/merge-patch+json", "if-match": "*" },
          });
          expect(other.status).toBe(200);
        }
        return fn(request);
      };
    let concurrentDone = false;
    const refused = await cli(["config", "patch", "default", "--set", "limits.maxCodeRequests=7"], {
      send: concurrent(fetch),
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("412 version_conflict");
    expect(refused.stderr).toContain("--retry");
    const unchanged = (await h.call("GET", "/v1/admin/apps/default/config", { auth: "admin" })).body as {
      limits: { maxCodeRequests: number };
    };
    expect(unchanged.limits.maxCodeRequests).toBe(5);

    concurrentDone = false;
    const retried = await cli(
      ["config", "patch", "default", "--set", "limits.maxCodeRequests=7", "--retry"],
      {
        send: concurrent(fetch),
      },
    );
    expect(retried.code).toBe(0);
    expect(retried.stderr).toContain("changed meanwhile");
    const both = (await h.call("GET", "/v1/admin/apps/default/config", { auth: "admin" })).body as {
      limits: { maxCodeRequests: number };
      recoveryCodes: { count: number };
    };
    expect(both.limits.maxCodeRequests).toBe(7);
    expect(both.recoveryCodes.count).toBe(12);
  });

  it("config put replaces the document from a file, refusing one read before a newer change", async () => {
    const read = await cli(["config", "get", "default"]);
    const document = json<{ version: number; stepUpSeconds: number }>(read.stdout);
    await writeFile(join(files, "config.json"), JSON.stringify({ ...document, stepUpSeconds: 900 }));
    const put = await cli(["config", "put", "default", "--file", "config.json"]);
    expect(put.code).toBe(0);
    expect(put.stdout).toContain(`now at version ${document.version + 1}`);
    // The same file again: it was read at a version that is no longer current.
    const stale = await cli(["config", "put", "default", "--file", "config.json"], {
      env: { npm_lifecycle_event: "admin" },
    });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("412 version_conflict");
    // Run by `npm run admin`, the hint names that (otp-admin is not on PATH in this repository).
    expect(stale.stderr).toContain("Get it again (npm run admin -- config get default)");

    // A file without a version could be from any time: refused, unless --force says replace whatever is current.
    const { version: _, ...unversioned } = document;
    await writeFile(join(files, "unversioned.json"), JSON.stringify({ ...unversioned, stepUpSeconds: 700 }));
    const refused = await cli(["config", "put", "default", "--file", "unversioned.json"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("the file has no version");
    expect(refused.stderr).toContain("--force");
    const kept = (await h.call("GET", "/v1/admin/apps/default/config", { auth: "admin" })).body;
    expect(kept).toMatchObject({ version: document.version + 1, stepUpSeconds: 900 });
    const forced = await cli(["config", "put", "default", "--file", "unversioned.json", "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`now at version ${document.version + 2}`);
    const replaced = (await h.call("GET", "/v1/admin/apps/default/config", { auth: "admin" })).body;
    expect(replaced).toMatchObject({ stepUpSeconds: 700 });
  });

  it("an invalid value prints the problem's title, code and field errors, exit 1", async () => {
    const bad = await cli(["config", "patch", "default", "--set", "code.length=99"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain("error: Bad request (invalid_config, HTTP 400)");
    expect(bad.stderr).toMatch(/- code\.length: .*10/);
  });

  it("sets a secret from stdin and lists it as set, never printing the value", async () => {
    const value = {
      accountSid: `AC${"0123456789abcdef".repeat(2)}`,
      authToken: "tok-never-printed-0123456789",
    };
    const set = await cli(["secrets", "set", "twilio"], { stdin: JSON.stringify(value) });
    expect(set.code).toBe(0);
    const listed = await cli(["secrets", "list"]);
    expect(listed.stdout).toMatch(/twilio\s+yes\s+\d{4}-/);
    const listedJson = await cli(["secrets", "list", "--json"]);
    expect(json<{ secrets: { name: string; set: boolean }[] }>(listedJson.stdout).secrets).toContainEqual(
      expect.objectContaining({ name: "twilio", set: true }),
    );
    // Not JSON, and JSON the provider's schema refuses: the errors quote no part of the value.
    const notJson = await cli(["secrets", "set", "twilio"], { stdin: `{"authToken": ${value.authToken}}` });
    expect(notJson.code).toBe(1);
    const refused = await cli(["secrets", "set", "twilio"], {
      stdin: JSON.stringify({ accountSid: value.authToken, authToken: "short" }),
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("invalid_request");
    for (const run of [set, listed, listedJson, notJson, refused]) {
      expect(run.stdout + run.stderr).not.toContain(value.authToken);
      expect(run.stdout + run.stderr).not.toContain(value.accountSid);
    }
  });

  it("secrets set on a terminal reads the paste with the echo off until Ctrl-D", async () => {
    const value = {
      accountSid: `AC${"a1b2c3d4e5f60718".repeat(2)}`,
      authToken: "pasted-token-never-echoed-31",
    };
    const modes: boolean[] = [];
    const input = Object.assign(new PassThrough(), {
      isTTY: true,
      // Raw mode is what keeps a real terminal from echoing the keys itself.
      setRawMode: (on: boolean) => {
        modes.push(on);
        return input;
      },
    });
    const output = new PassThrough();
    let shown = "";
    output.on("data", (chunk: Buffer) => {
      shown += chunk.toString();
    });
    // Pasted over two lines, the last without a newline, then Ctrl-D; the stream is not ended.
    const [first, second] = [`{"accountSid": "${value.accountSid}",`, ` "authToken": "${value.authToken}"}`];
    input.write(`${first}\r${second}`);
    setTimeout(() => input.write("\x04"), 50);
    const set = await cli(["secrets", "set", "twilio"], { terminal: { input, output } });
    expect(set.stderr).toBe("");
    expect(set.code).toBe(0);
    expect(shown).toContain("Paste the JSON value of twilio (not shown), then Ctrl-D");
    expect(modes[0]).toBe(true);
    expect(modes.at(-1)).toBe(false);
    expect(shown + set.stdout).not.toContain(value.authToken);
    expect(shown + set.stdout).not.toContain(value.accountSid);
    expect(await h.stack.deps.secrets.providerSecret("twilio")).toMatchObject(value);
  }, 10_000);

  it("sends a test message into the local outbox", async () => {
    const sent = await cli(["test-message", "default", "--channel", "email", "--to", "ops@example.com"]);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toContain("Delivered to ops@example.com by ses");
    expect((await h.stack.outboxMessages("ops@example.com"))[0]?.subject).toMatch(/^Test message from/);
  });

  it("shows a locked user and unlocks them", async () => {
    await enrollEmail(h, "carol");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "carol", channel: "email" } });
    for (let i = 0; i < 3; i++) {
      await h.call("POST", "/v1/verifications", {
        body: { userId: "carol", challengeId: sent.body.challengeId, code: "00000000" },
      });
    }
    const shown = await cli(["user", "show", "default", "carol"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("User carol: MFA on");
    expect(shown.stdout).toMatch(/locked until: +\d{4}-/);
    expect(shown.stdout).toMatch(/email\s+active\s+c\*\*\*@example\.com/);
    expect(shown.stdout).not.toContain("carol@example.com");

    expect((await cli(["user", "unlock", "default", "carol"])).code).toBe(0);
    const after = json<{ lockedUntil: string | null }>(
      (await cli(["user", "show", "default", "carol", "--json"])).stdout,
    );
    expect(after.lockedUntil).toBeNull();
  });

  it("revokes every session of an app", async () => {
    const revoked = await cli(["sessions", "revoke-all", "default"]);
    expect(revoked.code).toBe(0);
    const audit = await h.call("GET", "/v1/admin/apps/default/audit?limit=1", { auth: "admin" });
    expect((audit.body.events as { type: string }[])[0]?.type).toBe("sessions.revoked");
  });

  it("audit pages through nextCursor, filters by type, and follows new events", async () => {
    const created = await h.call("POST", "/v1/admin/apps", { auth: "admin", body: { name: "Busy" } });
    const appId = String(created.body.appId);
    for (let i = 0; i < 110; i++) {
      await h.call("POST", `/v1/admin/apps/${appId}/api-keys`, { auth: "admin" });
    }
    const audited: string[] = [];
    const counting: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      audited.push(new URL(request.url).search);
      return fetch(request);
    };
    const all = await cli(["audit", appId, "--limit", "105", "--json"], { send: counting });
    const events = json<{ events: { type: string; at: string }[] }>(all.stdout).events;
    expect(events).toHaveLength(105);
    expect(audited.some((q) => q.includes("cursor="))).toBe(true);

    audited.length = 0;
    const typed = await cli(["audit", appId, "--type", "app.created", "--limit", "5"], { send: counting });
    expect(typed.code).toBe(0);
    expect(typed.stdout.trim().split("\n")).toHaveLength(1);
    expect(typed.stdout).toContain("app.created");
    // With a type filter every request asks for a full page: 111 events are 2 requests, not 107.
    expect(audited).toHaveLength(2);
    expect(audited.every((q) => new URLSearchParams(q).get("limit") === "100")).toBe(true);

    const stop = new AbortController();
    let onFirst: () => void = () => {};
    const shown = new Promise<void>((resolve) => {
      onFirst = resolve;
    });
    const following = cli(
      ["audit", appId, "--type", "apikey.*", "--limit", "2", "--follow", "--interval", "0.1"],
      {
        signal: stop.signal,
        onStdout: (soFar) => {
          if (soFar.includes("apikey.revoked")) onFirst();
        },
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const key = await h.call("POST", `/v1/admin/apps/${appId}/api-keys`, { auth: "admin" });
    await h.call("DELETE", `/v1/admin/apps/${appId}/api-keys/${String(key.body.keyId)}`, { auth: "admin" });
    await shown;
    stop.abort();
    const followed = await following;
    expect(followed.code).toBe(0);
    const lines = followed.stdout.trim().split("\n");
    // Two from before, then the new key and its revocation, each once.
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain(`apikey.created`);
    expect(lines[2]).toContain(String(key.body.keyId));
    expect(lines[3]).toContain("apikey.revoked");
  });

  it("shows SMS protection, with a country its conversion breaker paused, and resumes that country", async () => {
    const fresh = await cli(["sms-protection", "show", "default"]);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toContain("SMS protection of default: mode enforce");
    expect(fresh.stdout).toContain("Blocked in the last 24 h: none");

    // Codes to GB that nobody enters: once they have expired, the next SMS there opens the breaker.
    // The local provider (the outbox) whatever Twilio secret an earlier test saved.
    const patched = await cli([
      "config",
      "patch",
      "default",
      "--set",
      "smsProtection.conversion.minSends=5",
      "--set",
      "sms.provider=local",
    ]);
    expect(patched.code).toBe(0);
    // The breaker judges fixed one-hour windows: start at the top of one, so the sends and the
    // refusal 15 minutes later fall in the same window whatever the time of day.
    h.stack.clock.advance(3600 - ((h.stack.clock.now() / 1000) % 3600) + 1);
    const enrollGb = (i: number) =>
      h.call("POST", `/v1/users/pumped-${i}/factors`, { body: { type: "sms", phone: `+44740012345${i}` } });
    for (let i = 0; i < 5; i++) expect((await enrollGb(i)).status).toBe(201);
    // Well past the 300 s code TTL: the breaker estimates live codes per time bucket.
    h.stack.clock.advance(900);
    expect((await enrollGb(5)).body).toMatchObject({ code: "sms_blocked", reason: "conversion_breaker" });
    const paused = await cli(["sms-protection", "show", "default"]);
    expect(paused.stdout).toMatch(/^GB\s+5\s+0\s+0%\s+\d{4}-\d{2}-\d{2}T/m);
    expect(paused.stdout).toMatch(/Blocked in the last 24 h: .*conversion_breaker 1/);

    // Lower case as typed: the CLI sends GB.
    const resumed = await cli(["sms-protection", "resume", "default", "gb"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain("SMS to GB resumed for default.");
    const view = json<{ countries: { country: string; pausedUntil: string | null }[] }>(
      (await cli(["sms-protection", "show", "default", "--json"])).stdout,
    );
    expect(view.countries).toContainEqual(expect.objectContaining({ country: "GB", pausedUntil: null }));
  });

  it("init without a terminal takes flags: app, sender, from-address and Twilio secret in one go", async () => {
    const twilio = {
      accountSid: `AC${"fedcba9876543210".repeat(2)}`,
      authToken: "init-token-never-printed-42",
    };
    await writeFile(join(files, "twilio.json"), JSON.stringify(twilio));
    const flags = [
      "--from-address",
      "mfa@first.example",
      "--sender",
      "+14155550199",
      "--twilio-file",
      "twilio.json",
    ];
    const appNames = async () =>
      json<{ apps: { name: string }[] }>((await cli(["apps", "list", "--json"])).stdout).apps.map(
        (a) => a.name,
      );

    // twilio is set already, and every app of the deployment shares it: not replaced without --replace-secret.
    const existing = { accountSid: `AC${"cd".repeat(16)}`, authToken: "existing-token-9876543210" };
    expect((await cli(["secrets", "set", "twilio"], { stdin: JSON.stringify(existing) })).code).toBe(0);
    const kept = await cli(["init", "--name", "Dup", ...flags]);
    expect(kept.code).toBe(1);
    expect(kept.stdout).toBe("");
    expect(kept.stderr).toMatch(/^error: twilio is already set \(updated \d{4}-/);
    expect(kept.stderr).toContain("init created nothing");
    expect(kept.stderr).toContain("--replace-secret");
    expect(await appNames()).not.toContain("Dup");
    expect(await h.stack.deps.secrets.providerSecret("twilio")).toMatchObject(existing);

    const init = await cli(["init", "--name", "First", ...flags, "--replace-secret"]);
    expect(init.code).toBe(0);
    expect(await h.stack.deps.secrets.providerSecret("twilio")).toMatchObject(twilio);
    const appId = /appId (\S+)\./.exec(init.stdout)?.[1] ?? "";
    const apiKey = /\n {2}(otpk_\S+)\n/.exec(init.stdout)?.[1] ?? "";
    expect(init.stdout.split(apiKey)).toHaveLength(2);
    expect((await h.http("GET", "/v1/users/x/factors", { auth: apiKey })).status).toBe(200);
    const config = (await h.call("GET", `/v1/admin/apps/${appId}/config`, { auth: "admin" })).body as {
      email: { fromAddress: string };
      sms: { defaultSender: string };
    };
    expect(config.email.fromAddress).toBe("mfa@first.example");
    expect(config.sms.defaultSender).toBe("+14155550199");
    expect(init.stdout + init.stderr).not.toContain(twilio.authToken);
    // Sender and from-address were all it lacked: doctor, run last, says it is ready.
    expect(init.stdout).toContain(`${appId} is ready to deliver codes.`);

    // Bad inputs are named, all at once, before anything is created (values of the secret are not quoted).
    await writeFile(join(files, "sid-only.json"), JSON.stringify({ accountSid: twilio.accountSid }));
    const bad = await cli([
      "init",
      "--name",
      "Bad",
      "--from-address",
      "not-an-email",
      "--sender",
      "14155550199",
      "--twilio-file",
      "sid-only.json",
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain("init created nothing");
    expect(bad.stderr).toContain('--from-address: "not-an-email" is not an email address');
    expect(bad.stderr).toContain('--sender: "14155550199" is not a phone number in E.164');
    expect(bad.stderr).toContain(
      '--twilio-file sid-only.json: the Twilio secret needs "authToken" as a string',
    );
    expect(bad.stderr).not.toContain(twilio.accountSid);
    const unreadable = await cli(["init", "--name", "Bad", "--twilio-file", "no-such.json"]);
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toMatch(/--twilio-file: cannot read .*no-such\.json/);
    expect(await appNames()).not.toContain("Bad");

    // A value only the service refuses, after the app was created: with --json the key is still printed.
    await writeFile(
      join(files, "refused.json"),
      JSON.stringify({ accountSid: "not-a-sid", authToken: "short" }),
    );
    const refused = await cli([
      "init",
      "--name",
      "Half",
      "--twilio-file",
      "refused.json",
      "--replace-secret",
      "--json",
    ]);
    expect(refused.code).toBe(1);
    const half = json<{ appId: string; apiKey: string }>(refused.stdout);
    expect((await h.http("GET", "/v1/users/x/factors", { auth: half.apiKey })).status).toBe(200);
    expect(refused.stderr).toContain(`App ${half.appId} was created`);
    expect(refused.stderr).toContain("invalid_request");

    const nameless = await cli(["init"]);
    expect(nameless.code).toBe(1);
    expect(nameless.stderr).toContain("--name");
  });

  /** A terminal that types each answer once its question shows. */
  function terminal(answers: [string, string][]) {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const output = new PassThrough();
    let shown = "";
    let from = 0;
    output.on("data", (chunk: Buffer) => {
      shown += chunk.toString();
      const next = answers[0];
      const at = next ? shown.indexOf(next[0], from) : -1;
      if (next && at >= 0) {
        from = at + next[0].length;
        answers.shift();
        input.write(`${next[1]}\r`);
      }
    });
    return { io: { input, output }, shown: () => shown };
  }

  it("init on a terminal asks for each step, and the auth token is not echoed", async () => {
    const existing = { accountSid: `AC${"ab".repeat(16)}`, authToken: "existing-token-0123456789" };
    expect((await cli(["secrets", "set", "twilio"], { stdin: JSON.stringify(existing) })).code).toBe(0);
    const sid = `AC${"00112233445566778899aabbccddeeff"}`;
    const token = "typed-token-never-echoed-77";
    const answers: [string, string][] = [
      ["App name", "Asked"],
      ["Email from-address", "mfa.asked.example"],
      // Not an email address: asked again.
      ["Email from-address", "mfa@asked.example"],
      ["SMS sender", ""],
      ["replace it? [y/N]", "y"],
      ["Twilio Account SID", sid],
      ["Twilio auth token", token],
    ];
    const typing = terminal(answers);
    const init = await cli(["init"], { terminal: typing.io });
    const shown = typing.shown();
    expect(init.stderr).not.toMatch(/^error/m);
    expect(init.code).toBe(0);
    expect(answers).toEqual([]);
    expect(init.stdout).toContain('Created app "Asked"');
    expect(init.stdout).toContain("Email from-address set: mfa@asked.example");
    expect(init.stdout).not.toContain("SMS sender set");
    expect(shown).toContain("mfa@asked.example");
    expect(shown).toContain('"mfa.asked.example" is not an email address');
    // The secret every app shares: replaced only after a yes.
    expect(shown).toMatch(/twilio is already set \(updated \d{4}-\d\d-\d\dT[^)]+\); replace it\? \[y\/N\]/);
    expect(shown + init.stdout + init.stderr).not.toContain(token);
    expect(await h.stack.deps.secrets.providerSecret("twilio")).toMatchObject({
      accountSid: sid,
      authToken: token,
    });

    // Enter keeps it, and the Twilio step is skipped.
    const keep: [string, string][] = [
      ["Email from-address", ""],
      ["SMS sender", ""],
      ["replace it? [y/N]", ""],
    ];
    const keeping = terminal(keep);
    const kept = await cli(["init", "--name", "Kept"], { terminal: keeping.io });
    expect(kept.code).toBe(0);
    expect(keep).toEqual([]);
    expect(keeping.shown()).toContain("Keeping the twilio secret that is set.");
    expect(keeping.shown()).not.toContain("Twilio Account SID");
    expect(kept.stdout).not.toContain("Twilio secret saved");
    expect(await h.stack.deps.secrets.providerSecret("twilio")).toMatchObject({ accountSid: sid });
  });

  it("doctor prints each check with ✓ or ✗ and its fix, exit code 1 until the app is ready", async () => {
    const ready = await cli(["doctor", "default"]);
    expect(ready.code).toBe(0);
    expect(ready.stdout).toContain("default is ready to deliver codes.");
    expect(ready.stdout).toMatch(/^✓ email\.from_address: /m);

    const bare = json<{ appId: string }>((await cli(["apps", "create", "Bare", "--json"])).stdout);
    const notReady = await cli(["doctor", bare.appId]);
    expect(notReady.code).toBe(1);
    expect(notReady.stdout).toContain(`${bare.appId} is not ready yet`);
    expect(notReady.stdout).toMatch(
      /^✗ email\.from_address: .*\n {4}fix: .*config patch .*email\.fromAddress=/m,
    );
    expect(notReady.stdout).toMatch(/^✗ sms\.sender: /m);
    const raw = await cli(["doctor", bare.appId, "--json"]);
    expect(raw.code).toBe(1);
    expect(json<{ ready: boolean; checks: { id: string; ok: boolean }[] }>(raw.stdout)).toMatchObject({
      ready: false,
      checks: expect.arrayContaining([
        { id: "sms.sender", ok: false, blocking: true, detail: expect.any(String), fix: expect.any(String) },
      ]),
    });

    // What doctor asks for, set with the CLI: then it is ready.
    await cli([
      "config",
      "patch",
      bare.appId,
      "--set",
      "email.fromAddress=mfa@bare.example",
      "--set",
      "sms.defaultSender=+14155550123",
    ]);
    const fixed = await cli(["doctor", bare.appId]);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).not.toContain("✗");
  });

  it("explains a bad app id, a missing local stack and an unreachable one in one line each, exit 1", async () => {
    const unknown = await cli(["user", "show", "nope", "alice"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("error: Not found (app_not_found, HTTP 404)\n  App nope does not exist.\n");

    const missing = await cli(["apps", "list"], { env: { OTP_LOCAL_DIR: join(files, "none") } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: no .*credentials\.json: start the local stack with `npm start`/);

    const down = join(files, "down");
    await mkdir(down, { recursive: true });
    const closedPort = await freePort();
    await writeFile(
      join(down, "credentials.json"),
      JSON.stringify({ baseUrl: `http://127.0.0.1:${closedPort}`, adminToken: "x" }),
    );
    const unreachable = await cli(["--local", down, "apps", "list"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(
      `error: could not reach http://127.0.0.1:${closedPort}: connection refused\n`,
    );
  });

  it("runs as a child process: npx tsx bin/otp-admin.ts, output and exit codes", async () => {
    const run = promisify(execFile);
    const env = { ...process.env, OTP_LOCAL_DIR: h.dir };
    const { stdout, stderr } = await run(tsx, ["bin/otp-admin.ts", "apps", "list", "--json"], {
      cwd: root,
      env,
    });
    expect(stderr).toBe("");
    expect(json<{ apps: { appId: string }[] }>(stdout).apps.map((a) => a.appId)).toContain("default");
    const failed = await run(tsx, ["bin/otp-admin.ts", "keys", "create", "nope"], { cwd: root, env }).catch(
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed).toMatchObject({ code: 1, stdout: "" });
    expect((failed as { stderr: string }).stderr).toContain("app_not_found");
    expect((failed as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
    // From the sources, the help names the command that runs it here.
    const help = await run(tsx, ["bin/otp-admin.ts", "--help"], { cwd: root, env });
    expect(help.stdout).toContain("Usage: npm run admin -- [options]");
    expect(help.stdout).toContain("  npm run admin -- config patch default --set code.length=8");
    expect(help.stdout).not.toContain("otp-admin ");
  });
});
