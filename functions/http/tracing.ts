/**
 * Opt-in X-Ray tracing (construct prop `tracing`, which sets `OTP_TRACING=1`). Off, nothing of
 * Powertools Tracer or the X-Ray SDK is parsed: it ships beside the handler as a side module
 * (lib/function-bundling.ts) and is imported here only when tracing is on.
 */

/** Wraps an AWS SDK v3 client so each call is an X-Ray subsegment; returns it as is when tracing is off. */
export type TraceClient = <T>(client: T) => T;

export const untraced: TraceClient = (client) => client;

export const tracingEnabled = (env: NodeJS.ProcessEnv = process.env): boolean => env.OTP_TRACING === "1";

/**
 * Loads the tracer when the environment asks for it. Constructing it also patches Node's
 * http/https (the Twilio SDK's requests) and subscribes to undici's diagnostics channels (the
 * `fetch` Sinch uses): provider calls become subsegments without any wrapping here.
 */
export async function loadTracing(env: NodeJS.ProcessEnv = process.env): Promise<TraceClient> {
  if (!tracingEnabled(env)) return untraced;
  const { Tracer } = await import("@aws-lambda-powertools/tracer");
  const tracer = new Tracer({ serviceName: "otp-service" });
  return (client) => tracer.captureAWSv3Client(client);
}
