import { expect, it } from "vitest";
import { DynamoSmsCounters } from "#adapters/dynamodb-sms-counters";
import type { CounterAdd } from "#core/model/sms-protection";
import { describeEachEmulator } from "../support/dynamodb.ts";

/** The counters adapter on both emulators: caps hold under parallel adds, refusals report the counts. */
describeEachEmulator("SMS protection counters", (db) => {
  let n = 0;
  const counters = () => new DynamoSmsCounters(db.documents, { tableName: db.tableName });
  const counter = (caps: Record<string, number>): CounterAdd => ({
    partition: `to#+1415555${String(++n).padStart(4, "0")}`,
    sort: "2030-01-01",
    add: { day: 1, h00: 1 },
    caps,
    expiresAt: Date.UTC(2030, 0, 3),
  });

  it("50 parallel adds under a cap of 7 succeed exactly 7 times; a refusal returns the counts that refused it", async () => {
    const c = counters();
    const write = counter({ day: 10, h00: 7 });
    const results = await Promise.all(Array.from({ length: 50 }, () => c.add("app1", write)));
    expect(results.filter((r) => r.ok)).toHaveLength(7);
    expect(results.find((r) => !r.ok)?.counts).toEqual({ day: 7, h00: 7 });
    expect(await c.counts("app1", write)).toEqual({ day: 7, h00: 7 });
  });

  it("an add without caps always counts; subtract takes it back and never revives an item that is gone", async () => {
    const c = counters();
    const write = counter({});
    await c.add("app1", write);
    await c.add("app1", write);
    await c.subtract("app1", write);
    expect(await c.counts("app1", write)).toEqual({ day: 1, h00: 1 });
    const never = counter({});
    await c.subtract("app1", never);
    expect(await c.counts("app1", never)).toEqual({});
  });

  it("a breaker is written only over the revision it was read at", async () => {
    const c = counters();
    const breaker = { pausedUntil: 5, window: 0, sentBase: 0, verifiedBase: 0, rev: 1 };
    const first = await Promise.all(Array.from({ length: 10 }, () => c.setBreaker("app2", "US", breaker, 0)));
    expect(first.filter(Boolean)).toHaveLength(1);
    expect(await c.setBreaker("app2", "US", { ...breaker, pausedUntil: null, rev: 2 }, 0)).toBe(false);
    expect(await c.setBreaker("app2", "US", { ...breaker, pausedUntil: null, rev: 2 }, 1)).toBe(true);
    expect(await c.breakers("app2")).toEqual({ US: { ...breaker, pausedUntil: null, rev: 2 } });
  });

  it("lists a partition's items between two sort keys", async () => {
    const c = counters();
    const base = { partition: "app", add: { sent: 1 }, caps: {}, expiresAt: Date.UTC(2030, 0, 3) };
    for (const sort of ["conv#a#US", "conv#a#GB", "conv#b#US", "day#x"])
      await c.add("app3", { ...base, sort });
    const found = await c.countsBetween("app3", "app", { from: "conv#a#", to: "conv#a#~" });
    expect(found.map((f) => f.sort).sort()).toEqual(["conv#a#GB", "conv#a#US"]);
  });
});
