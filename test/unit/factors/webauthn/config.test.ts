import { describe, expect, it } from "vitest";
import { defaultAppConfig, parseAppConfig } from "#core/config";
import { isRpId, originProblem } from "#core/factors/webauthn/config";

const errorsOf = (webauthn: Record<string, unknown>) => {
  const parsed = parseAppConfig({ webauthn });
  return parsed.ok ? [] : parsed.errors;
};

describe("the webauthn config", () => {
  it("defaults to not configured, rpName the app's name", () => {
    expect(defaultAppConfig("Acme").webauthn).toEqual({
      rpId: null,
      rpName: "Acme",
      origins: [],
      userVerification: "preferred",
      attestation: "none",
    });
  });

  it("accepts a domain with https origins on it or its subdomains, and localhost over http", () => {
    expect(
      errorsOf({ rpId: "example.com", origins: ["https://example.com", "https://login.example.com:8443"] }),
    ).toEqual([]);
    expect(errorsOf({ rpId: "localhost", origins: ["http://localhost:3000", "http://localhost"] })).toEqual(
      [],
    );
  });

  it("takes domain names only as rpId", () => {
    for (const good of ["example.com", "login.example.co.uk", "xn--bcher-kva.example", "localhost"]) {
      expect(isRpId(good)).toBe(true);
    }
    for (const bad of [
      "https://example.com",
      "example.com:443",
      "example.com/",
      "127.0.0.1",
      "com",
      "Example.com",
      "",
      "a..b",
    ]) {
      expect(isRpId(bad)).toBe(false);
    }
  });

  it.each([
    ["http://example.com", "must be https"],
    ["http://127.0.0.1:3000", "must be https"],
    ["https://login.example.com/", "an origin only"],
    ["https://login.example.com/path", "an origin only"],
    ["https://user@login.example.com", "an origin only"],
    ["https://example.net", "its host must be example.com"],
    ["https://badexample.com", "its host must be example.com"],
    ["not a url", "an origin such as"],
  ])("refuses the origin %s", (origin, message) => {
    expect(originProblem(origin, "example.com")).toContain(message);
    const errors = errorsOf({ rpId: "example.com", origins: ["https://example.com", origin] });
    expect(errors).toEqual([{ path: "webauthn.origins.1", message: expect.stringContaining(message) }]);
  });

  it("lists each bad field by path: rpId, userVerification, attestation, origins missing for an rpId", () => {
    const errors = errorsOf({
      rpId: "https://example.com",
      userVerification: "always",
      attestation: "enterprise",
    });
    expect(errors.map((e) => e.path).sort()).toEqual([
      "webauthn.attestation",
      "webauthn.rpId",
      "webauthn.userVerification",
    ]);
    expect(errorsOf({ rpId: "example.com", origins: [] })).toEqual([
      { path: "webauthn.origins", message: expect.stringContaining("at least one origin") },
    ]);
    expect(errorsOf({ rpName: "" }).map((e) => e.path)).toEqual(["webauthn.rpName"]);
  });
});
