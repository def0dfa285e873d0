/**
 * The package's entry point (`import { OtpService } from "otp-service"`): the construct, the
 * stack this repository deploys with it, and the types of their props.
 */
export {
  FUNCTION_DEFAULTS,
  LATENCY_P99_DEFAULTS,
  METRICS_DIMENSIONS,
  METRICS_NAMESPACE,
  OtpFunction,
  OtpService,
  type OtpServiceCustomDomain,
  type OtpServiceProps,
  prebuiltFunctionDir,
  RESERVED_CONCURRENCY_DEFAULTS,
} from "./otp-service.ts";
export { OtpServiceStack, type OtpServiceStackProps, stackNameOf } from "./otp-service-stack.ts";
export type { FunctionName } from "./routes.ts";
