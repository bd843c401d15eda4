import { useEffect, useState } from "preact/hooks";

/** A value that components can watch; enough state management for one small app. */
export interface Store<T> {
  get(): T;
  set(next: T): void;
  update(change: (current: T) => T): void;
  subscribe(listener: () => void): () => void;
}

export function createStore<T>(initial: T): Store<T> {
  let value = initial;
  const listeners = new Set<() => void>();
  const store: Store<T> = {
    get: () => value,
    set(next) {
      if (Object.is(next, value)) return;
      value = next;
      for (const listener of [...listeners]) listener();
    },
    update: (change) => store.set(change(value)),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return store;
}

/** Re-renders the component whenever the store changes. */
export function useStore<T>(store: Store<T>): T {
  const [, setVersion] = useState(0);
  const value = store.get();
  useEffect(() => {
    const rerender = () => setVersion((n) => n + 1);
    const unsubscribe = store.subscribe(rerender);
    // It may have changed between this render and the subscription.
    if (store.get() !== value) rerender();
    return unsubscribe;
  }, [store]);
  return value;
}
