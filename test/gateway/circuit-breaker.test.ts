import { describe, expect, it } from "vitest";
import { createCircuitBreaker } from "../../services/gateway/src/domain/circuit-breaker.js";

describe("circuit breaker", () => {
  const setup = (probes: number) => {
    let now = 0;
    const states: string[] = [];
    const breaker = createCircuitBreaker(
      { threshold: 2, openMs: 1000, probes, onChange: (s) => states.push(s) },
      () => now,
    );
    return { breaker, states, advance: (ms: number) => (now += ms) };
  };

  it("opens after the threshold of consecutive upstream faults; a success in between resets the count", () => {
    const { breaker, states } = setup(1);
    breaker.failure();
    breaker.success();
    breaker.failure();
    expect(breaker.state).toBe("closed");
    breaker.failure();
    expect(breaker.state).toBe("open");
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.retryInMs()).toBe(1000);
    expect(states).toEqual(["open"]);
  });

  it("lets a bounded number of probes through while half-open, and releases a slot for a client that left", () => {
    const { breaker, advance } = setup(3);
    breaker.failure();
    breaker.failure();
    advance(1000);
    expect([breaker.tryAcquire(), breaker.tryAcquire(), breaker.tryAcquire()]).toEqual([true, true, true]);
    expect(breaker.state).toBe("half-open");
    expect(breaker.tryAcquire()).toBe(false);
    // A probe whose client went away says nothing about the upstream: its slot is free again.
    breaker.release();
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    breaker.success();
    expect(breaker.state).toBe("closed");
    expect(breaker.tryAcquire()).toBe(true);
  });

  it("opens again when a probe fails, for another full period", () => {
    const { breaker, advance } = setup(2);
    breaker.failure();
    breaker.failure();
    advance(1000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe("open");
    expect(breaker.tryAcquire()).toBe(false);
    advance(999);
    expect(breaker.tryAcquire()).toBe(false);
    advance(1);
    expect(breaker.tryAcquire()).toBe(true);
  });

  it("is not moved by releases while closed", () => {
    const { breaker } = setup(1);
    for (let i = 0; i < 10; i++) breaker.release();
    breaker.failure();
    expect(breaker.state).toBe("closed");
  });
});
