import { StoreUnavailable } from "./errors.ts";
import type { ChallengeSlot, UserState } from "./model/user.ts";
import type { Deps } from "./ports.ts";
import { newerHoldsSlot, registerChallenge } from "./rules/challenges.ts";

/** Bound on compare-and-set rounds under contention; each refused round brings the item back, so none reads again. */
const MAX_ROUNDS = 50;

/** The delivered code (or a WebAuthn challenge) becomes current in its slot, unless a newer one is there already. */
export async function registerSlot(
  deps: Deps,
  appId: string,
  userId: string,
  key: string,
  slot: ChallengeSlot,
  observed: UserState | undefined,
): Promise<void> {
  let state = observed;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const written = await deps.store.writeUserState(appId, userId, registerChallenge(state, key, slot));
    if (written.ok || newerHoldsSlot(written.state, key, slot)) return;
    state = written.state;
  }
  throw new StoreUnavailable("registerChallenge: too much contention");
}
