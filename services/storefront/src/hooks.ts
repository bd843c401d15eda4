import { useEffect, useState } from "preact/hooks";

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  /** True from the render in which `deps` change until their load settles. */
  loading: boolean;
  reload: () => void;
  setData: (data: T) => void;
}

/**
 * Loads data for a component and reloads it when `deps` change. A newer load aborts the older one,
 * so a slow answer never overwrites a newer one. `loading` is already true in the very render in
 * which `deps` change (the effect that starts the load runs after it), so a page never presents
 * the previous answer as the answer to the new question.
 */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> {
  const [generation, setGeneration] = useState(0);
  const key = JSON.stringify([...deps, generation]);
  const [state, setState] = useState<{ data?: T; error: unknown; settledFor?: string }>({ error: null });

  // `load` is a fresh closure on every render; `deps` say when to load again.
  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: null, settledFor: key });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState((current) => ({ ...current, error, settledFor: key }));
      },
    );
    return () => controller.abort();
  }, [key]);

  const settled = state.settledFor === key;
  return {
    data: state.data,
    error: settled ? state.error : null,
    loading: !settled,
    reload: () => setGeneration((n) => n + 1),
    setData: (data) => setState({ data, error: null, settledFor: key }),
  };
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · ShopStream` : "ShopStream";
  }, [title]);
}
