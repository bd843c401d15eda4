/**
 * A per-upstream circuit: after `threshold` consecutive transport failures (refused, reset,
 * timed out) the upstream is not tried for `openMs`, so callers get a fast 503 instead of piling
 * up behind a dead or drowning service. After that one request at a time may probe it again
 * (half-open); a success closes the circuit, a failure opens it anew.
 */
export interface CircuitBreaker {
  /** Milliseconds until a request may be tried again, or 0 when it may be tried now. */
  retryInMs(): number;
  /** Marks the start of an attempt; in the half-open state only one probe is let through. */
  tryAcquire(): boolean;
  success(): void;
  failure(): void;
  /** Ends an attempt that told nothing about the upstream (the client went away). */
  release(): void;
  readonly state: "closed" | "open" | "half-open";
}

export function createCircuitBreaker(
  options: { threshold: number; openMs: number; onChange?: (state: CircuitBreaker["state"]) => void },
  now: () => number = Date.now,
): CircuitBreaker {
  let failures = 0;
  let openUntil = 0;
  let probing = false;
  let state: CircuitBreaker["state"] = "closed";
  const set = (next: CircuitBreaker["state"]) => {
    if (next === state) return;
    state = next;
    options.onChange?.(next);
  };

  return {
    get state() {
      return state;
    },
    retryInMs() {
      if (state === "closed") return 0;
      return Math.max(0, openUntil - now());
    },
    tryAcquire() {
      if (state === "closed") return true;
      if (now() < openUntil) return false;
      if (probing) return false;
      probing = true;
      set("half-open");
      return true;
    },
    success() {
      failures = 0;
      probing = false;
      set("closed");
    },
    release() {
      probing = false;
    },
    failure() {
      failures += 1;
      probing = false;
      if (state === "half-open" || failures >= options.threshold) {
        openUntil = now() + options.openMs;
        set("open");
      }
    },
  };
}
