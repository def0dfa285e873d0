import { describe, expect, it } from "vitest";
import { DEFAULT_TIMEOUT_MS as SINCH_TIMEOUT_MS } from "#adapters/providers/sinch/sinch-verification";
import { DEFAULT_TIMEOUT_MS as TWILIO_TIMEOUT_MS } from "#adapters/providers/twilio/twilio-sms";
import { PROVIDER_TIMEOUT_MS } from "#core/policy";
import { sesClientSettings } from "#http/cloud-providers";
import { FUNCTION_DEFAULTS } from "#lib/otp-service";

/** API Gateway gives an HTTP API integration at most 30 s. */
const API_GATEWAY_TIMEOUT_MS = 30_000;
/** The SDK's standard retry waits at most this long before its second attempt (base 100 ms, jittered). */
const SDK_FIRST_BACKOFF_MS = 200;

describe("provider timeouts fit the delivery step, the step fits the function, the function fits API Gateway", () => {
  it("aborts a Twilio or Sinch request before the use case gives up on the step", () => {
    expect(TWILIO_TIMEOUT_MS).toBeLessThan(PROVIDER_TIMEOUT_MS);
    expect(SINCH_TIMEOUT_MS).toBeLessThan(PROVIDER_TIMEOUT_MS);
  });

  it("ends every SES attempt, retries included, within the step", () => {
    const { maxAttempts, requestHandler } = sesClientSettings;
    const worst =
      maxAttempts * (requestHandler.connectionTimeout + requestHandler.requestTimeout) +
      (maxAttempts - 1) * SDK_FIRST_BACKOFF_MS;
    expect(worst).toBeLessThan(PROVIDER_TIMEOUT_MS);
  });

  it("lets send try a provider and its fallback before its own timeout, and answers before API Gateway's", () => {
    const send = FUNCTION_DEFAULTS.send.timeoutSeconds * 1000;
    expect(send).toBeGreaterThan(2 * PROVIDER_TIMEOUT_MS);
    for (const { timeoutSeconds } of Object.values(FUNCTION_DEFAULTS)) {
      expect(timeoutSeconds * 1000).toBeLessThan(API_GATEWAY_TIMEOUT_MS);
    }
  });
});
