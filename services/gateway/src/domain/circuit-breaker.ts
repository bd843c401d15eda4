/**
 * A per-upstream circuit: after `threshold` consecutive upstream faults (a refused or reset
 * connection, or no response headers within the route's timeout after the request was fully
 * sent) the upstream is not tried for `openMs`, so callers get a fast 503 instead of piling up
 * behind a dead or drowning service. Then it is half-open: at most `probes` requests at a time
 * may try it; a success closes the circuit, a fault opens it anew. What clients do (going away,
 * stalling their body) is never reported here: it says nothing about the upstream.
 */
export interface CircuitBreaker {
  /** Milliseconds until a request may be tried again, or 0 when it may be tried now. */
  retryInMs(): number;
  /** Marks the start of an attempt; in the half-open state only `probes` attempts run at once. */
  tryAcquire(): boolean;
  success(): void;
  failure(): void;
  /** Ends an attempt that told nothing about the upstream (the client went away or stalled). */
  release(): void;
  readonly state: "closed" | "open" | "half-open";
}

export function createCircuitBreaker(
  options: {
    threshold: number;
    openMs: number;
    /** Attempts let through at once while half-open. */
    probes?: number;
    onChange?: (state: CircuitBreaker["state"]) => void;
  },
  now: () => number = Date.now,
): CircuitBreaker {
  const maxProbes = Math.max(1, options.probes ?? 1);
  let failures = 0;
  let openUntil = 0;
  let probing = 0;
  let state: CircuitBreaker["state"] = "closed";
  const set = (next: CircuitBreaker["state"]) => {
    if (next === state) return;
    state = next;
    options.onChange?.(next);
  };
  const open = () => {
    openUntil = now() + options.openMs;
    probing = 0;
    set("open");
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
      if (probing >= maxProbes) return false;
      probing += 1;
      set("half-open");
      return true;
    },
    success() {
      failures = 0;
      probing = 0;
      set("closed");
    },
    release() {
      if (state === "half-open") probing = Math.max(0, probing - 1);
    },
    failure() {
      failures += 1;
      if (state === "half-open" || failures >= options.threshold) open();
    },
  };
}
