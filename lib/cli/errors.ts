export interface FieldError {
  path: string;
  message: string;
}

export interface Problem {
  title: string;
  status: number;
  code?: string;
  detail?: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

/** The service (or API Gateway in front of it) answered with an error. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = "ApiError";
  }

  get code(): string | undefined {
    return this.problem.code;
  }

  /**
   * RFC 9457 problem details from the service; API Gateway's own refusals are `{ message }`
   * (a 403 for a bad signature, say), and anything else is described by its status.
   */
  static async from(response: Response): Promise<ApiError> {
    const text = await response.text().catch(() => "");
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
    const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
    const errors = Array.isArray(record.errors)
      ? record.errors.flatMap((e: unknown) => {
          const f = typeof e === "object" && e !== null ? (e as Record<string, unknown>) : {};
          return typeof f.path === "string" && typeof f.message === "string"
            ? [{ path: f.path, message: f.message }]
            : [];
        })
      : undefined;
    return new ApiError({
      ...record,
      title:
        str(record.title) ?? str(record.message) ?? `HTTP ${response.status} ${response.statusText}`.trim(),
      status: response.status,
      code: str(record.code),
      detail: str(record.detail),
      errors,
    });
  }
}

/** The API could not be reached at all (refused, DNS, TLS, timeout). */
export class UnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`could not reach ${url}: ${reason}`);
    this.name = "UnreachableError";
  }

  static from(url: string, error: unknown): UnreachableError {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason =
      cause?.code === "ECONNREFUSED"
        ? "connection refused"
        : cause?.code === "ENOTFOUND"
          ? "host not found"
          : (cause?.message ?? (error instanceof Error ? error.message : String(error)));
    return new UnreachableError(url, reason);
  }
}

/** A failure the CLI explains in words (a bad argument or file, a missing setup); the message says what to do. */
export class CliError extends Error {
  override name = "CliError";
}
