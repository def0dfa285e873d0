/** A value cached for at most `ttlMs`, loaded once even under concurrent first use. */
export class ExpiringCache<T> {
  private entry: { until: number; value: Promise<T> } | undefined;

  constructor(
    private readonly ttlMs: number,
    private readonly load: () => Promise<T>,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<T> {
    if (this.entry && this.entry.until > this.now()) return this.entry.value;
    const value = this.load();
    this.entry = { until: this.now() + this.ttlMs, value };
    value.catch(() => {
      if (this.entry?.value === value) this.entry = undefined;
    });
    return value;
  }

  invalidate(): void {
    this.entry = undefined;
  }
}
