import { enrollmentRequired, PENDING_FACTOR_TTL_SECONDS } from "../policy.ts";
import type { Deps, EpochMs, Factor, FactorType } from "../ports.ts";
import { loadAppContext } from "./app-config.ts";

export interface FactorView {
  factorId: string;
  type: FactorType;
  status: Factor["status"];
  destination: string;
  createdAt: EpochMs;
  lastUsedAt: EpochMs | null;
}

export interface FactorList {
  userId: string;
  enabled: boolean;
  enrollmentRequired: boolean;
  factors: FactorView[];
  recoveryCodesRemaining: number;
}

export async function listFactors(deps: Deps, input: { appId: string; userId: string }): Promise<FactorList> {
  const ctx = await loadAppContext(deps, input.appId);
  const { state, factors } = await deps.store.loadUser(input.appId, input.userId);
  const enabled = state?.enabled === true;
  const now = deps.clock.now();
  return {
    userId: input.userId,
    enabled,
    enrollmentRequired: enrollmentRequired(ctx.config, input.userId, enabled),
    factors: factors
      .filter((f) => f.status === "active" || now - f.createdAt <= PENDING_FACTOR_TTL_SECONDS * 1000)
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((f) => ({
        factorId: f.factorId,
        type: f.type,
        status: f.status,
        destination: f.destination,
        createdAt: f.createdAt,
        lastUsedAt: state?.lastUsed[f.factorId] ?? null,
      })),
    recoveryCodesRemaining: state?.recoveryCodesRemaining ?? 0,
  };
}
