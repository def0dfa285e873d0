/**
 * How to run this CLI again where it runs now, for the commands its messages suggest.
 * `otp-admin` is on PATH only where the package is installed, and runs its compiled
 * dist/…/*.js; `npx otp-admin` would fetch an unrelated registry package. In this repository the
 * CLI runs from its TypeScript sources (tsx), through package.json's `admin` script.
 */
export function adminCommand(env: NodeJS.ProcessEnv, moduleUrl: string = import.meta.url): string {
  if (env.npm_lifecycle_event === "admin") return "npm run admin --";
  if (/\.[cm]?ts$/.test(new URL(moduleUrl).pathname)) return "npm run admin --";
  return "otp-admin";
}
