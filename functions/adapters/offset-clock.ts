import type { Clock } from "#core/ports";

/** Real time plus an offset that only moves forward: lets people and tests try expiry and lockout without waiting. */
export class OffsetClock implements Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}
