import { randomUUID } from "node:crypto";
import { DomainError, invalidRequest } from "#core/errors";
import {
  bodyHashOf,
  decideRepeat,
  IDEMPOTENCY_WINDOW_MS,
  IN_PROGRESS_MS,
  idempotencyKeyHash,
  isIdempotencyKey,
} from "#core/rules/idempotency";
import type { RouteImpl } from "./handler.ts";
import { type HttpResult, toProblem } from "./problem.ts";

/**
 * `Idempotency-Key` (API.md): the first request with a key claims it with one conditional
 * write and its answer is kept for 10 minutes; a repeat with the same body gets that answer
 * again (same `challengeId`, nothing sent or counted twice), with another body 422
 * `idempotency_key_reused`, while the first still runs 409 `request_in_progress`. Answers
 * that tell the caller to come back (a 5xx: nothing was sent or counted; 429 and 423: retry
 * after `Retry-After` or the lock) are not kept: the key is freed, so the retry they invite
 * really runs. Only a hash of the body is stored, and the answer, which holds nothing the
 * first caller did not already get.
 */
/** Rate limited, SMS refused by SMS protection, locked: the same request may succeed later. */
const RETRY_INVITED = new Set([423, 429]);

export function idempotent<B>(impl: RouteImpl<B>): RouteImpl<B> {
  return {
    ...impl,
    run: async (request, deps) => {
      const key = request.headers["idempotency-key"];
      const records = deps.idempotency;
      if (key === undefined || !records) return impl.run(request, deps);
      if (!isIdempotencyKey(key)) {
        throw invalidRequest([
          { path: "(headers).idempotency-key", message: "must be 1 to 128 visible ASCII characters" },
        ]);
      }
      const keyHash = idempotencyKeyHash(key);
      const bodyHash = bodyHashOf(request.body);
      const token = randomUUID();
      const now = deps.clock.now();
      const claim = await records.claim<HttpResult>(
        request.appId,
        keyHash,
        {
          bodyHash,
          token,
          state: "in_progress",
          expiresAt: now + IDEMPOTENCY_WINDOW_MS,
          inProgressUntil: now + IN_PROGRESS_MS,
        },
        now,
      );
      if (!claim.claimed) {
        const repeat = decideRepeat(claim.existing, bodyHash, now);
        if (repeat.kind === "replay") {
          return {
            ...repeat.response,
            headers: { ...repeat.response.headers, "idempotent-replayed": "true" },
          };
        }
        if (repeat.kind === "reused") {
          throw new DomainError(
            "idempotency_key_reused",
            "This Idempotency-Key was used with another request body in the last 10 minutes. Use a new key for a new request.",
          );
        }
        throw new DomainError(
          "request_in_progress",
          "The first request with this Idempotency-Key is still running. Retry in a moment to get its answer.",
          { retryAfterSeconds: 1 },
        );
      }

      const keep = (response: HttpResult) =>
        records.complete(request.appId, keyHash, token, response).catch((error: unknown) => {
          deps.log?.({ level: "warn", msg: "idempotency record not kept", error });
        });
      let result: HttpResult;
      try {
        result = await impl.run(request, deps);
      } catch (error) {
        const { result: problem } = toProblem(error);
        if (!RETRY_INVITED.has(problem.statusCode) && problem.statusCode < 500) await keep(problem);
        else
          await records.release(request.appId, keyHash, token).catch((failure: unknown) => {
            deps.log?.({ level: "warn", msg: "idempotency key not freed", error: failure });
          });
        throw error;
      }
      // The code went out: a failure to keep the answer must not turn it into an error. The
      // claim then lapses after IN_PROGRESS_MS and a later repeat runs as a first request.
      await keep(result);
      return result;
    },
  };
}
