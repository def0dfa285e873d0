import { StoreUnavailable } from "#core/errors";
import type { Store } from "#core/ports";

export type StoreMethod = {
  [K in keyof Store]: Store[K] extends (...args: never[]) => unknown ? K : never;
}[keyof Store];

/**
 * `before`: the call never reaches the table (a throttle, a connection refused).
 * `after`: the table did it, but the answer was lost (a timeout after the write).
 */
export type FaultMode = "before" | "after";

export interface Fault {
  method: StoreMethod;
  /** 1 for the first call of `method` after the fault is armed. */
  nth: number;
  mode: FaultMode;
}

export interface FailingStore {
  /** The real store, behind a Proxy that throws StoreUnavailable where a fault is armed. */
  store: Store;
  /** Every call made through the proxy, in order. */
  calls: StoreMethod[];
  /** Arms one fault: the `nth` next call of `method` throws StoreUnavailable. */
  failOn(method: StoreMethod, nth?: number, mode?: FaultMode): void;
  /** Faults that fired, in order. */
  fired: Fault[];
}

/**
 * Wraps a real store (it adds no behaviour of its own): every call goes to the store, except
 * that an armed fault makes one call throw StoreUnavailable, before or after the real call.
 */
export function failingStore(real: Store): FailingStore {
  const calls: StoreMethod[] = [];
  const fired: Fault[] = [];
  const armed: Array<Fault & { seen: number }> = [];
  const store = new Proxy(real, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      const method = property as StoreMethod;
      return async (...args: unknown[]) => {
        calls.push(method);
        for (const f of armed) if (f.method === method) f.seen += 1;
        const index = armed.findIndex((f) => f.method === method && f.seen === f.nth);
        const fault = index >= 0 ? armed.splice(index, 1)[0] : undefined;
        const fail = () => {
          if (fault) fired.push({ method: fault.method, nth: fault.nth, mode: fault.mode });
          return new StoreUnavailable(`${method} (injected, ${fault?.mode})`);
        };
        if (fault?.mode === "before") throw fail();
        // Called on the real store, so its calls to its own methods are not seen as separate calls.
        const result: unknown = await (value as (...a: unknown[]) => unknown).apply(target, args);
        if (fault?.mode === "after") throw fail();
        return result;
      };
    },
  });
  return {
    store,
    calls,
    fired,
    failOn(method, nth = 1, mode = "before") {
      armed.push({ method, nth, mode, seen: 0 });
    },
  };
}
