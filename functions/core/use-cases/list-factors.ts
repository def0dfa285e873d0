import { kindOf } from "../factors/registry.ts";
import type { UserState } from "../model/user.ts";
import { recoveryRemaining } from "../model/user.ts";
import { enrollmentRequired } from "../policy.ts";
import type { Deps, EpochMs, FactorRecord } from "../ports.ts";
import { isActive, livePending } from "../rules/factors.ts";
import { loadAppContext } from "./app-config.ts";

export interface FactorView {
  factorId: string;
  type: string;
  status: "pending" | "active";
  destination: string;
  createdAt: EpochMs;
  lastUsedAt: EpochMs | null;
  /** What the kind shows beside (a WebAuthn key's transports, backup flags, sign counter). */
  details: Record<string, unknown>;
}

export interface FactorList {
  userId: string;
  enabled: boolean;
  enrollmentRequired: boolean;
  factors: FactorView[];
  recoveryCodesRemaining: number;
}

/** A factor item as shown: active when the user item says so, pending for a day, gone after. */
export function factorViews(
  state: UserState | undefined,
  factors: readonly FactorRecord[],
  now: EpochMs,
): FactorView[] {
  // Active when the user item says so; pending only the newest of its kind, for a day.
  const pending = new Set(livePending(state, factors, now).map((f) => f.factorId));
  return factors
    .filter((f) => isActive(state, f.factorId) || pending.has(f.factorId))
    .sort((a, b) => a.createdAt - b.createdAt)
    .map((f) => ({
      factorId: f.factorId,
      type: f.type,
      status: isActive(state, f.factorId) ? "active" : "pending",
      destination: f.destination,
      createdAt: f.createdAt,
      lastUsedAt: state?.factors?.[f.factorId]?.lastUsedAt ?? null,
      details: kindOf(f.type)?.view?.(f, state?.factors?.[f.factorId]) ?? {},
    }));
}

export async function listFactors(deps: Deps, input: { appId: string; userId: string }): Promise<FactorList> {
  const ctx = await loadAppContext(deps, input.appId);
  const { state, factors } = await deps.store.loadUser(input.appId, input.userId);
  const enabled = state?.enabled === true;
  return {
    userId: input.userId,
    enabled,
    enrollmentRequired: enrollmentRequired(ctx.config, input.userId, enabled),
    factors: factorViews(state, factors, deps.clock.now()),
    recoveryCodesRemaining: recoveryRemaining(state),
  };
}
