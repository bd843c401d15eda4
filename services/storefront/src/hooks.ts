import { useEffect, useState } from "preact/hooks";

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  setData: (data: T) => void;
}

/**
 * Loads data for a component and reloads it when `deps` change. A newer load aborts the older one,
 * so a slow answer never overwrites a newer one.
 */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error: unknown; loading: boolean }>({
    error: null,
    loading: true,
  });
  const [generation, setGeneration] = useState(0);

  // `load` is a fresh closure on every render; `deps` say when to load again.
  useEffect(() => {
    const controller = new AbortController();
    setState((current) => ({ ...current, error: null, loading: true }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: null, loading: false });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState((current) => ({ ...current, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [...deps, generation]);

  return {
    data: state.data,
    error: state.error,
    loading: state.loading,
    reload: () => setGeneration((n) => n + 1),
    setData: (data) => setState({ data, error: null, loading: false }),
  };
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · ShopStream` : "ShopStream";
  }, [title]);
}
