import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/** One DynamoDB command as the store sent it. */
export interface RecordedCall {
  /** `UpdateItem`, `Query`, ... */
  command: string;
  /** Which item the command addressed (`CHALLENGE`, `STATE`, `SESSION`, `AUDIT`, `USER*` for a query, ...). */
  item: string;
  start: number;
  end: number;
  /** HTTP requests it took (more than 1 only when the SDK retried). */
  httpRequests: number;
  /** Capacity units DynamoDB (dynalite) reported; undefined when the answer carried none (a failed condition). */
  capacityUnits: number | undefined;
  isWrite: boolean;
  /** A strongly consistent read (1 RRU per 4 KB, else half). */
  consistent: boolean;
  error: string | undefined;
}

export interface HttpSpan {
  start: number;
  end: number;
}

const CAPACITY_COMMANDS = new Set([
  "GetItem",
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "Query",
  "Scan",
  "BatchGetItem",
  "BatchWriteItem",
  "TransactGetItems",
  "TransactWriteItems",
]);
const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);

type Input = Record<string, unknown>;

const prefix = (value: unknown): string => (typeof value === "string" ? (value.split("#")[0] ?? value) : "?");

/** `USER#app#user` + `CHALLENGE#id` -> `CHALLENGE`; `SESSION#hash` -> `SESSION`; a query on a user -> `USER*`. */
function itemOf(command: string, input: Input): string {
  const kind = (key: Input) => {
    const pk = prefix(key.pk);
    return pk === "USER" || pk === "APP" ? prefix(key.sk) : pk;
  };
  const key = (input.Key ?? input.Item) as Input | undefined;
  if (key) return kind(key);
  if (command === "BatchWriteItem" || command === "TransactWriteItems") {
    const requests = Object.values((input.RequestItems ?? {}) as Record<string, Input[]>).flat();
    const listed = command === "BatchWriteItem" ? requests : ((input.TransactItems ?? []) as Input[]);
    return listed
      .map((request) => {
        const inner = Object.values(request)[0] as Input | undefined;
        const target = (inner?.Item ?? inner?.Key) as Input | undefined;
        return target ? kind(target) : "?";
      })
      .join("+");
  }
  if (command === "Query") {
    const values = (input.ExpressionAttributeValues ?? {}) as Input;
    return `${prefix(values[":pk"])}*`;
  }
  return "";
}

function capacityOf(output: unknown): number | undefined {
  const consumed = (output as { ConsumedCapacity?: unknown } | undefined)?.ConsumedCapacity;
  if (consumed === undefined) return undefined;
  const list = Array.isArray(consumed) ? consumed : [consumed];
  return list.reduce(
    (sum: number, c) => sum + Number((c as { CapacityUnits?: number }).CapacityUnits ?? 0),
    0,
  );
}

/**
 * Counts what a DynamoDB client sends: every command (initialize step, once per `send`)
 * and every HTTP request (innermost deserialize step, inside the retry loop), with their
 * times, so overlapping requests can be told from sequential ones. It also asks DynamoDB
 * for `ReturnConsumedCapacity: TOTAL`, which changes nothing but the answer's size.
 */
export class DynamoRecorder {
  private calls: RecordedCall[] = [];
  private spans: HttpSpan[] = [];

  instrument(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = (context.commandName ?? "?").replace(/Command$/, "");
        const input = args.input as Input;
        if (CAPACITY_COMMANDS.has(command)) input.ReturnConsumedCapacity = "TOTAL";
        const call: RecordedCall = {
          command,
          item: itemOf(command, input),
          start: performance.now(),
          end: 0,
          httpRequests: 0,
          capacityUnits: undefined,
          isWrite: WRITES.has(command),
          consistent: input.ConsistentRead === true,
          error: undefined,
        };
        (context as { benchCall?: RecordedCall }).benchCall = call;
        try {
          const result = await next(args);
          call.capacityUnits = capacityOf(result.output);
          return result;
        } catch (error) {
          call.error = error instanceof Error ? error.name : String(error);
          throw error;
        } finally {
          call.end = performance.now();
          this.calls.push(call);
        }
      },
      { step: "initialize", name: "benchCountCommands", override: true },
    );
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const start = performance.now();
        const call = (context as { benchCall?: RecordedCall }).benchCall;
        if (call) call.httpRequests++;
        try {
          return await next(args);
        } finally {
          this.spans.push({ start, end: performance.now() });
        }
      },
      { step: "deserialize", priority: "low", name: "benchCountHttp", override: true },
    );
  }

  reset(): void {
    this.calls = [];
    this.spans = [];
  }

  take(): { calls: RecordedCall[]; spans: HttpSpan[] } {
    const taken = { calls: this.calls, spans: this.spans };
    this.reset();
    return taken;
  }
}

/** Requests that overlap in time ran concurrently: the number of non-overlapping groups is the chain of round trips. */
export function sequentialGroups<T extends HttpSpan>(spans: readonly T[]): T[][] {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const groups: T[][] = [];
  let groupEnd = Number.NEGATIVE_INFINITY;
  for (const span of sorted) {
    const last = groups[groups.length - 1];
    if (last && span.start < groupEnd) {
      last.push(span);
      groupEnd = Math.max(groupEnd, span.end);
    } else {
      groups.push([span]);
      groupEnd = span.end;
    }
  }
  return groups;
}
