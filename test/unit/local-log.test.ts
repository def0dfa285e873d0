import { describe, expect, it } from "vitest";
import { StoreUnavailable } from "#core/errors";
import { readableLine } from "#lib/local-log";

const AT = new Date("2030-01-01T12:00:01.123Z");

describe("npm start's log lines", () => {
  it("prints a request as time, level, function, route, status, duration and code", () => {
    expect(
      readableLine(
        {
          level: "info",
          msg: "request",
          fn: "send",
          route: "POST /v1/challenges",
          status: 429,
          ms: 12,
          code: "rate_limited",
          requestId: "r1",
        },
        AT,
      ),
    ).toBe("12:00:01.123 INFO  send POST /v1/challenges 429 12ms rate_limited");
  });

  it("adds a fault's class, operation and error; an ERROR also gets the stack", () => {
    const error = new StoreUnavailable("store.getUser");
    const warn = readableLine(
      {
        level: "warn",
        msg: "request",
        fn: "verify",
        route: "POST /v1/verifications",
        status: 503,
        ms: 3,
        code: "unavailable",
        errorClass: "store",
        operation: "store.getUser",
        error,
      },
      AT,
    );
    expect(warn).toBe(
      "12:00:01.123 WARN  verify POST /v1/verifications 503 3ms unavailable errorClass=store operation=store.getUser StoreUnavailable: store unavailable during store.getUser",
    );
    const failure = readableLine(
      { level: "error", msg: "request", fn: "send", status: 503, error: new TypeError("x is undefined") },
      AT,
    );
    expect(failure.split("\n")[0]).toBe("12:00:01.123 ERROR send 503 TypeError: x is undefined");
    expect(failure.split("\n")[1]).toMatch(/^\s+at /);
  });

  it("prints other entries by their message and fields", () => {
    expect(
      readableLine(
        { level: "warn", msg: "audit events not put on the bus", count: 2, reason: "ThrottlingException" },
        AT,
      ),
    ).toBe("12:00:01.123 WARN  audit events not put on the bus count=2 reason=ThrottlingException");
  });
});
