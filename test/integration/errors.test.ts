import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routes } from "#lib/routes";
import { enrollEmail, type Harness, type Reply, startHarness } from "../support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const expectProblem = (reply: Reply, status: number, code: string) => {
  expect(reply.status).toBe(status);
  expect(reply.headers["content-type"]).toBe("application/problem+json");
  expect(reply.body).toMatchObject({ type: "about:blank", status, code });
  expect(typeof reply.body.title).toBe("string");
  expect(typeof reply.body.detail).toBe("string");
};

describe("every failure is problem+json with a stable code", () => {
  it("400 for a body that is not JSON, with the path of the problem", async () => {
    const reply = await h.call("POST", "/v1/challenges", { rawBody: "{not json" });
    expectProblem(reply, 400, "invalid_request");
    expect(reply.body.errors).toEqual([{ path: "(body)", message: "not valid JSON" }]);
  });

  it("400 for a body over 16 KiB, before parsing it", async () => {
    const reply = await h.call("POST", "/v1/challenges", {
      rawBody: `{"userId":"${"a".repeat(17 * 1024)}"}`,
    });
    expectProblem(reply, 400, "invalid_request");
    expect(JSON.stringify(reply.body.errors)).toContain("16384");
    const overHttp = await h.http("POST", "/v1/challenges", { rawBody: "x".repeat(200 * 1024) });
    expectProblem(overHttp, 400, "invalid_request");
  });

  it("400 listing each schema violation", async () => {
    const reply = await h.call("POST", "/v1/challenges", {
      body: { userId: "bad user!", channel: "fax", extra: 1 },
    });
    expectProblem(reply, 400, "invalid_request");
    const paths = (reply.body.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(["channel", "extra", "userId"]);
  });

  it("400 for an invalid user id in the path, invalid email and unsupported content type", async () => {
    expectProblem(await h.call("GET", `/v1/users/${"x".repeat(129)}/factors`), 400, "invalid_request");
    expectProblem(
      await h.call("POST", "/v1/users/bob/factors", { body: { type: "email", email: "not-an-email" } }),
      400,
      "invalid_email",
    );
    expectProblem(
      await h.call("POST", "/v1/challenges", {
        rawBody: "userId=bob",
        headers: { "content-type": "text/plain" },
      }),
      400,
      "invalid_request",
    );
  });

  it("404 for unknown routes and 405 with Allow for a wrong method, locally and over HTTP", async () => {
    expectProblem(await h.http("GET", "/v1/nothing-here"), 404, "not_found");
    const wrongMethod = await h.http("DELETE", "/v1/challenges");
    expectProblem(wrongMethod, 405, "method_not_allowed");
    expect(wrongMethod.headers.allow).toBe("POST");
    const post = await h.call("POST", "/v1/admin/apps/default/config", { auth: "admin" });
    expectProblem(post, 405, "method_not_allowed");
    expect(post.headers.allow).toBe("GET, PUT, PATCH");
  });

  it("404 for an unknown factor or challenge, 422 for a wrong code", async () => {
    await enrollEmail(h, "errs");
    expectProblem(
      await h.call("POST", "/v1/users/errs/factors/fac_nope/activate", { body: { code: "123456" } }),
      404,
      "factor_not_found",
    );
    expectProblem(
      await h.call("POST", "/v1/verifications", {
        body: { userId: "errs", challengeId: "ch_nope", code: "123456" },
      }),
      404,
      "challenge_not_found",
    );
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "errs", channel: "email" } });
    const code = await h.latestCode("errs@example.com");
    const wrong = await h.call("POST", "/v1/verifications", {
      body: {
        userId: "errs",
        challengeId: sent.body.challengeId,
        code: code === "999999" ? "888888" : "999999",
      },
    });
    expectProblem(wrong, 422, "invalid_code");
    expect(wrong.body.attemptsRemaining).toBe(2);
  });

  it("409 when activating an already active factor", async () => {
    const { factorId } = await enrollEmail(h, "twice");
    expectProblem(
      await h.call("POST", `/v1/users/twice/factors/${factorId}/activate`, { body: { code: "123456" } }),
      409,
      "factor_exists",
    );
    expectProblem(
      await h.call("POST", "/v1/users/twice/factors", {
        body: { type: "email", email: "twice2@example.com" },
      }),
      409,
      "factor_exists",
    );
  });
});

describe("no request, however malformed, gets a 500", () => {
  const paths = routes.map((r) => r.path.replace(/\{\w+\}/g, "x"));
  const arbitraryPath = fc.oneof(
    fc.constantFrom(...paths),
    fc.constantFrom(...paths).chain((p) => fc.string().map((s) => `${p}/${encodeURIComponent(s)}`)),
    fc.webPath(),
    fc.constant("/v1/users/%E0%A4%A/factors"),
    // path parameters far beyond any key size the store accepts
    fc.constantFrom(...routes.map((r) => r.path)).map((p) => p.replace(/\{\w+\}/g, "z".repeat(1100))),
  );
  const arbitraryBody = fc.oneof(
    fc.json(),
    fc.string(),
    fc
      .jsonValue()
      .map((v) => JSON.stringify({ userId: v, code: v, type: v, email: v, phone: v, challengeId: v })),
    fc.constant(""),
    fc.constant('{"__proto__":{"admin":true}}'),
  );

  it("fuzzes method, path, body and headers of every route", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"),
        arbitraryPath,
        arbitraryBody,
        fc.constantFrom<"client" | "admin" | null | string>("client", "admin", null, "garbage", ""),
        fc.constantFrom("application/json", "text/plain", "application/json; charset=utf-8", ""),
        fc.option(fc.string({ maxLength: 30 })),
        async (method, path, body, auth, contentType, ifMatch) => {
          const headers: Record<string, string> = { "content-type": contentType };
          if (ifMatch !== null) headers["if-match"] = ifMatch;
          const reply = await h.call(method, path, { rawBody: body, auth, headers });
          expect(reply.status).toBeLessThan(500);
          if (reply.status >= 400) expect(reply.headers["content-type"]).toBe("application/problem+json");
          expect(reply.text).not.toMatch(/\bat .+\.(ts|js):\d+/);
        },
      ),
      { numRuns: 300 },
    );
  });
});
