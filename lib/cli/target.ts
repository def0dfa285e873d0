import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { AdminApi } from "./admin-api.ts";
import { CliError } from "./errors.ts";
import { type AwsCredentials, signingFetch } from "./signing-fetch.ts";
import { tokenFetch } from "./token-fetch.ts";

/** The global options that say which service to talk to and how to authenticate. */
export interface TargetOptions {
  local?: string | boolean;
  url?: string;
  stage?: string;
  stackName?: string;
  region?: string;
  profile?: string;
}

export interface TargetEnv {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Puts requests on the wire; tests wrap it. */
  send?: typeof fetch;
}

interface LocalCredentials {
  baseUrl: string;
  adminToken: string;
}

/** Where the admin API is and the `fetch` that authenticates to it (admin token or SigV4). */
export interface Connection {
  baseUrl: string;
  fetch: typeof fetch;
}

/**
 * `--local [dir]` (the default): the local stack's `credentials.json` and its admin token.
 * `--url` or `--stage`: a deployed stage, every request SigV4-signed with the standard AWS
 * credential chain (`--profile`), the URL from the stack's `ApiUrl` output for `--stage`.
 */
export async function resolveTarget(options: TargetOptions, ctx: TargetEnv): Promise<AdminApi> {
  const { baseUrl, fetch } = await resolveConnection(options, ctx);
  return new AdminApi(baseUrl, fetch);
}

/** resolveTarget without the AdminApi: for the console server, which forwards requests as they come. */
export async function resolveConnection(options: TargetOptions, ctx: TargetEnv): Promise<Connection> {
  const send = ctx.send ?? fetch;
  const chosen = [options.url && "--url", options.stage && "--stage", options.local && "--local"].filter(
    Boolean,
  );
  if (chosen.length > 1) throw new CliError(`choose one target: ${chosen.join(" or ")}`);
  if (!options.url && !options.stage) {
    const dir = resolve(
      ctx.cwd,
      typeof options.local === "string" ? options.local : (ctx.env.OTP_LOCAL_DIR ?? ".local"),
    );
    const local = await readLocalCredentials(dir);
    return { baseUrl: local.baseUrl, fetch: tokenFetch(local.adminToken, send) };
  }
  const credentials = awsCredentials(options.profile);
  if (options.url) {
    const url = parseUrl(options.url);
    const region =
      options.region ?? regionOfExecuteApiHost(url.hostname) ?? (await configuredRegion(options.profile));
    return { baseUrl: url.href, fetch: signingFetch(credentials, region, send) };
  }
  const stage = options.stage ?? "";
  const stackName = options.stackName ?? `OtpService-${stage}`;
  const region = options.region ?? (await configuredRegion(options.profile));
  const apiUrl = await stackApiUrl({ stackName, region, credentials });
  return { baseUrl: apiUrl, fetch: signingFetch(credentials, region, send) };
}

async function readLocalCredentials(dir: string): Promise<LocalCredentials> {
  const path = resolve(dir, "credentials.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new CliError(
      `no ${path}: start the local stack with \`npm start\` (it writes that file), or point --local (or OTP_LOCAL_DIR) at its folder`,
    );
  }
  let parsed: Partial<LocalCredentials>;
  try {
    parsed = JSON.parse(text) as Partial<LocalCredentials>;
  } catch {
    throw new CliError(`${path} is not JSON; delete it and restart \`npm start\` to write it again`);
  }
  if (typeof parsed.baseUrl !== "string" || typeof parsed.adminToken !== "string") {
    throw new CliError(`${path} has no baseUrl or adminToken; restart \`npm start\` to write it again`);
  }
  return { baseUrl: parsed.baseUrl, adminToken: parsed.adminToken };
}

function parseUrl(text: string): URL {
  try {
    const url = new URL(text);
    if (url.protocol === "https:" || url.protocol === "http:") return url;
  } catch {
    // reported below
  }
  throw new CliError(`--url must be an http(s) URL, got ${JSON.stringify(text)}`);
}

/** `https://abc123.execute-api.eu-west-1.amazonaws.com`: the region the API lives in, which signing must use. */
export function regionOfExecuteApiHost(hostname: string): string | undefined {
  return /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(hostname)?.[1];
}

/** The standard chain (env, SSO, web identity, shared files, container/instance metadata), failing in words. */
function awsCredentials(profile: string | undefined): AwsCredentials {
  const provider = defaultProvider(profile ? { profile } : {});
  return async () => {
    try {
      return await provider();
    } catch (error) {
      throw new CliError(
        `no AWS credentials${profile ? ` for profile ${profile}` : ""}: ${
          error instanceof Error ? error.message : String(error)
        } (set AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`,
      );
    }
  };
}

/** The region the SDK would use: AWS_REGION, else the profile's `region` in ~/.aws/config. */
async function configuredRegion(profile: string | undefined): Promise<string> {
  const client = new CloudFormationClient(profile ? { profile } : {});
  try {
    return await client.config.region();
  } catch {
    throw new CliError("no AWS region: pass --region, set AWS_REGION, or give the profile a region");
  } finally {
    client.destroy();
  }
}

async function stackApiUrl(input: {
  stackName: string;
  region: string;
  credentials: AwsCredentials;
}): Promise<string> {
  const client = new CloudFormationClient({ region: input.region, credentials: input.credentials });
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: input.stackName }));
    const url = Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === "ApiUrl")?.OutputValue;
    if (!url) throw new CliError(`stack ${input.stackName} in ${input.region} has no ApiUrl output`);
    return url;
  } catch (error) {
    if (error instanceof CliError) throw error;
    const name = (error as { name?: string }).name;
    const message = error instanceof Error ? error.message : String(error);
    if (name === "ValidationError" && /does not exist/.test(message)) {
      throw new CliError(
        `no stack ${input.stackName} in ${input.region}: deploy it (npx cdk deploy -c stage=...), or pass --stack-name / --region`,
      );
    }
    throw new CliError(`could not read stack ${input.stackName} in ${input.region}: ${message}`);
  } finally {
    client.destroy();
  }
}
