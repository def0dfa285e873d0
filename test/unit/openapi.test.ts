import { describe, expect, it } from "vitest";
import { openApiDocument, serverUrl } from "#http/openapi";

describe("servers: where the document was fetched from", () => {
  it("is API Gateway's domain, with whatever precedes /openapi.json (a named stage, a custom domain's mapping)", () => {
    const domainName = "abc123.execute-api.eu-west-1.amazonaws.com";
    expect(serverUrl({ domainName, stage: "$default", rawPath: "/openapi.json", proto: "https" })).toBe(
      `https://${domainName}`,
    );
    expect(serverUrl({ domainName, stage: "prod", rawPath: "/prod/openapi.json", proto: "https" })).toBe(
      `https://${domainName}/prod`,
    );
    expect(
      serverUrl({ domainName: "api.example.com", stage: "$default", rawPath: "/otp/openapi.json" }),
    ).toBe("https://api.example.com/otp");
    expect(serverUrl({ domainName, stage: "prod" })).toBe(`https://${domainName}/prod`);
  });

  it("is plain HTTP with the port for the local server", () => {
    expect(serverUrl({ domainName: "127.0.0.1:3000", rawPath: "/openapi.json", proto: "http" })).toBe(
      "http://127.0.0.1:3000",
    );
    expect(serverUrl({ domainName: "[::1]:8080", rawPath: "/openapi.json", proto: "http" })).toBe(
      "http://[::1]:8080",
    );
  });

  it("falls back to the serving host when the origin is unknown or does not look like a host", () => {
    for (const domainName of [undefined, "", "evil.example/path", "a b", 'x"><script>'])
      expect(serverUrl({ domainName, rawPath: "/openapi.json" })).toBeUndefined();
    expect(serverUrl({ domainName: "api.example.com", rawPath: "/a b/openapi.json" })).toBeUndefined();
    expect(openApiDocument().servers).toEqual([{ url: "/", description: expect.any(String) }]);
    expect(openApiDocument({ domainName: "api.example.com", rawPath: "/openapi.json" }).servers).toEqual([
      { url: "https://api.example.com", description: expect.any(String) },
    ]);
  });
});
