import { describe, expect, it } from "vitest";
import { matchRoute, routes } from "#lib/routes";

describe("matchRoute", () => {
  it("finds a route and its path parameters", () => {
    const match = matchRoute("POST", "/v1/users/alice/factors/fac_1/activate");
    expect(match).toMatchObject({
      kind: "found",
      route: { method: "POST", path: "/v1/users/{userId}/factors/{factorId}/activate", fn: "enroll" },
      pathParameters: { userId: "alice", factorId: "fac_1" },
    });
  });

  it("decodes percent-encoded parameters", () => {
    const match = matchRoute("GET", "/v1/users/alice%40example.com/factors");
    expect(match).toMatchObject({ kind: "found", pathParameters: { userId: "alice@example.com" } });
  });

  it("matches the method case-insensitively", () => {
    expect(matchRoute("post", "/v1/challenges")).toMatchObject({ kind: "found", route: { fn: "send" } });
  });

  it("answers method_not_allowed with the allowed methods for a known path", () => {
    const match = matchRoute("DELETE", "/v1/users/alice/factors");
    expect(match.kind).toBe("method_not_allowed");
    if (match.kind !== "method_not_allowed") return;
    expect([...match.allow].sort()).toEqual(["GET", "POST"]);
    expect(matchRoute("GET", "/v1/challenges")).toEqual({ kind: "method_not_allowed", allow: ["POST"] });
    const config = matchRoute("POST", "/v1/admin/apps/a1/config");
    expect(config.kind === "method_not_allowed" && [...config.allow].sort()).toEqual(["GET", "PATCH", "PUT"]);
  });

  it("answers not_found for an unknown path", () => {
    for (const path of ["/v1", "/v1/users", "/v1/challenges/extra", "/v1/users/a/b/factors", "/nope", "//"]) {
      expect(matchRoute("GET", path)).toEqual({ kind: "not_found" });
    }
  });

  it("serves / on the local stack only (the page linking the console and the demo app)", () => {
    const home = matchRoute("GET", "/");
    expect(home.kind === "found" && home.route.fn).toBe("local");
  });

  it("does not let a parameter span segments or be empty", () => {
    expect(matchRoute("GET", "/v1/users//factors")).toEqual({ kind: "not_found" });
    expect(matchRoute("GET", "/v1/users/a/b/factors")).toEqual({ kind: "not_found" });
  });

  it("answers not_found for a parameter that is not valid percent-encoding", () => {
    expect(matchRoute("GET", "/v1/users/%E0%A4%A/factors")).toEqual({ kind: "not_found" });
  });

  it("treats regex characters in paths literally", () => {
    expect(matchRoute("GET", "/healthz")).toMatchObject({ kind: "found" });
    expect(matchRoute("GET", "/healthzz")).toEqual({ kind: "not_found" });
    expect(matchRoute("GET", "/v1/challenges.json")).toEqual({ kind: "not_found" });
  });

  it("finds every route of the table at its own path", () => {
    for (const route of routes) {
      const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => `x-${name}`);
      const match = matchRoute(route.method, path);
      expect(match).toMatchObject({ kind: "found", route: { method: route.method, path: route.path } });
    }
  });
});
