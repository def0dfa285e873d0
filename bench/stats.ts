/** Small statistics and formatting helpers shared by the bench parts. */

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest-rank: p99 of 200 samples is the 198th value, not an interpolation.
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
};

export const mean = (values: readonly number[]): number =>
  values.length === 0 ? Number.NaN : values.reduce((sum, v) => sum + v, 0) / values.length;

export const min = (values: readonly number[]): number => Math.min(...values);

export const ms = (value: number, digits = 1): string =>
  Number.isFinite(value) ? value.toFixed(digits) : "n/a";

export const ratio = (value: number, floor: number): string =>
  Number.isFinite(value) && floor > 0 ? `${(value / floor).toFixed(2)}×` : "n/a";

export const kib = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;

export const usd = (value: number, digits = 3): string => `$${value.toFixed(digits)}`;

/** A markdown table; cells are escaped for `|`. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  return [
    `| ${header.map(cell).join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ].join("\n");
}

/** Counts of equal strings, most frequent first: `["GetItem", "GetItem", "Query"]` -> `GetItem×2, Query×1`. */
export function tally(items: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([name, n]) => `${name}×${n}`)
    .join(", ");
}

/** The most frequent value and how many of the samples had it. */
export function mode<T>(
  values: readonly T[],
  key: (v: T) => string,
): { value: T | undefined; share: number } {
  const counts = new Map<string, { value: T; n: number }>();
  for (const v of values) {
    const k = key(v);
    const entry = counts.get(k);
    if (entry) entry.n++;
    else counts.set(k, { value: v, n: 1 });
  }
  let best: { value: T; n: number } | undefined;
  for (const entry of counts.values()) if (!best || entry.n > best.n) best = entry;
  return { value: best?.value, share: best ? best.n / values.length : 0 };
}
