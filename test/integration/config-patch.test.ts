import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, type Reply, startHarness } from "../support/harness.ts";

type Doc = Record<string, Record<string, unknown>>;

const MERGE_PATCH = { "content-type": "application/merge-patch+json" };
let h: Harness;
let appId = "";
let path = "";

const get = () => h.call("GET", path, { auth: "admin" });
const patch = (body: unknown, ifMatch: string | undefined, headers: Record<string, string> = MERGE_PATCH) =>
  h.call("PATCH", path, {
    auth: "admin",
    body,
    headers: { ...headers, ...(ifMatch === undefined ? {} : { "if-match": ifMatch }) },
  });
const docOf = (reply: Reply) => reply.body as Doc;

beforeAll(async () => {
  h = await startHarness();
  // Its own app, so no other file's config changes meet these.
  const created = await h.call("POST", "/v1/admin/apps", { auth: "admin", body: { name: "Patch Co" } });
  appId = String(created.body.appId);
  path = `/v1/admin/apps/${appId}/config`;
});
afterAll(async () => {
  await h?.stop();
});

describe("PATCH /v1/admin/apps/{appId}/config (RFC 7396 merge patch)", () => {
  it("changes only the fields in the patch: a later patch of code.length keeps mfa.required", async () => {
    const before = await get();
    const first = await patch({ mfa: { required: true, exemptUserIds: ["ops-bot"] } }, before.headers.etag);
    expect(first.status).toBe(200);
    expect(first.headers.etag).toBe(`"${Number(before.body.version) + 1}"`);

    const second = await patch({ code: { length: 8 } }, first.headers.etag);
    expect(second.status).toBe(200);
    const after = docOf(await get());
    expect(after.code).toEqual({ ...docOf(before).code, length: 8 });
    expect(after.mfa).toEqual({ ...docOf(before).mfa, required: true, exemptUserIds: ["ops-bot"] });
    // Everything else is exactly what it was.
    for (const section of [
      "limits",
      "sessions",
      "totp",
      "sms",
      "email",
      "smsProtection",
      "webauthn",
      "templates",
    ])
      expect(after[section], section).toEqual(docOf(before)[section]);
  });

  it("replaces arrays whole, removes optional members with null and restores defaults with null", async () => {
    const start = await get();
    const defaults = docOf(start);
    const changed = await patch(
      {
        limits: { maxVerifyAttempts: 7 },
        sms: { allowedCountries: ["GB", "DE", "FR"] },
        totp: { issuer: "Patched Issuer" },
        templates: { fr: { emailSubject: "Votre code" } },
      },
      start.headers.etag,
    );
    expect(changed.status).toBe(200);
    expect(docOf(changed).sms?.allowedCountries).toEqual(["GB", "DE", "FR"]);

    const narrowed = await patch({ sms: { allowedCountries: ["GB"] } }, changed.headers.etag);
    expect(docOf(narrowed).sms?.allowedCountries).toEqual(["GB"]);

    const restored = await patch(
      { limits: { maxVerifyAttempts: null }, totp: { issuer: null }, templates: { fr: null } },
      narrowed.headers.etag,
    );
    expect(restored.status).toBe(200);
    const doc = docOf(restored);
    expect(doc.limits?.maxVerifyAttempts).toBe(defaults.limits?.maxVerifyAttempts);
    expect(doc.totp?.issuer).toBe("Patch Co"); // no issuer of its own: the app's name, as for a new app
    expect(doc.templates?.fr).toBeUndefined();
    expect(doc.templates?.en).toEqual(defaults.templates?.en);
  });

  it("refuses another media type with 415 and changes nothing", async () => {
    const start = await get();
    for (const headers of [{ "content-type": "application/json" }, { "content-type": "text/plain" }]) {
      const refused = await patch({ code: { length: 9 } }, start.headers.etag, headers);
      expect(refused.status).toBe(415);
      expect(refused.headers["content-type"]).toBe("application/problem+json");
      expect(refused.body).toMatchObject({ status: 415, code: "unsupported_media_type" });
      expect(String(refused.body.detail)).toContain("application/merge-patch+json");
    }
    const withCharset = await patch({ code: { length: 9 } }, start.headers.etag, {
      "content-type": "application/merge-patch+json; charset=utf-8",
    });
    expect(withCharset.status).toBe(200);
  });

  it("keeps PUT's rules: 428 without If-Match, 412 on a stale version, 400 for bad values and unknown fields", async () => {
    const start = await get();
    const missing = await patch({ code: { length: 7 } }, undefined);
    expect(missing.status).toBe(428);
    expect(missing.body.code).toBe("precondition_required");

    const stale = await patch({ code: { length: 7 } }, `"${Number(start.body.version) - 1}"`);
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe("version_conflict");

    const bad = await patch(
      { code: { length: 11 }, limits: { lockoutSeconds: 0 }, sms: { nope: 1 } },
      start.headers.etag,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("invalid_config");
    const paths = (bad.body.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(["code.length", "limits.lockoutSeconds", "sms.nope"]);

    // A null for a required field with no default is a removal, which the whole-document check reports.
    const notAnObject = await patch([{ op: "replace", path: "/code/length", value: 7 }], start.headers.etag);
    expect(notAnObject.status).toBe(400);
    expect(notAnObject.body.code).toBe("invalid_request");

    const badEtag = await patch({ code: { length: 7 } }, '"abc"');
    expect(badEtag.status).toBe(400);
    expect(badEtag.body.errors).toEqual([
      { path: "(headers).if-match", message: 'the ETag of the config you edited, such as "7", or *' },
    ]);

    // A key that would set a prototype is not merged; the rest of the patch applies.
    const proto = await patch(
      JSON.parse('{"__proto__": {"polluted": true}, "code": {"length": 7}}'),
      start.headers.etag,
    );
    expect(proto.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(proto.body).not.toHaveProperty("polluted");

    // `version` in a patch is ignored: the server numbers versions.
    const versioned = await patch({ version: 999, code: { length: 7 } }, proto.headers.etag);
    expect(versioned.status).toBe(200);
    expect(versioned.body.version).toBe(Number(start.body.version) + 2);
    expect(docOf(await get()).code?.length).toBe(7);
  });

  it("is audited as config.updated with the new version", async () => {
    const start = await get();
    const done = await patch({ stepUpSeconds: 600 }, start.headers.etag);
    expect(done.status).toBe(200);
    const audit = await h.call("GET", `/v1/admin/apps/${appId}/audit?limit=5`, { auth: "admin" });
    const events = audit.body.events as { type: string; outcome: string }[];
    expect(events[0]).toMatchObject({ type: "config.updated", outcome: `version ${done.body.version}` });
  });

  it("loses no update: 20 parallel patches of different fields each win with 200 or answer 412", async () => {
    const start = await get();
    const fields = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const replies = await Promise.all(fields.map((id) => patch({ mfa: { exemptUserIds: [id] } }, "*")));
    const won = replies.filter((r) => r.status === 200);
    expect(won.length).toBeGreaterThanOrEqual(1);
    expect(replies.every((r) => r.status === 200 || r.status === 412)).toBe(true);
    // Each winner wrote exactly one version after the last: versions are unique and consecutive.
    const versions = won.map((r) => Number(r.body.version)).sort((a, b) => a - b);
    expect(new Set(versions).size).toBe(won.length);
    expect(versions[0]).toBe(Number(start.body.version) + 1);
    const final = await get();
    expect(final.body.version).toBe(versions.at(-1));
    // The stored value is the one the last winner wrote.
    const last = won.find((r) => r.body.version === final.body.version);
    expect(docOf(final).mfa?.exemptUserIds).toEqual(docOf(last as Reply).mfa?.exemptUserIds);
  });

  it("with one If-Match, exactly one of 10 parallel patches applies", async () => {
    const start = await get();
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => patch({ code: { ttlSeconds: 100 + i } }, start.headers.etag)),
    );
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 412)).toHaveLength(9);
  });
});
