// Short messages shown in a polite live region: screen readers announce them, sighted people see them.
import { createStore } from "./store";

export type Tone = "info" | "success" | "error";

export interface Toast {
  id: number;
  text: string;
  tone: Tone;
}

export const toastStore = createStore<Toast[]>([]);
let nextId = 1;

export function dismissToast(id: number): void {
  toastStore.update((toasts) => toasts.filter((toast) => toast.id !== id));
}

export function announce(text: string, tone: Tone = "info"): void {
  const id = nextId++;
  // Two at most, briefly: they must not sit on top of the page for long.
  toastStore.update((toasts) => [...toasts.slice(-1), { id, text, tone }]);
  setTimeout(() => dismissToast(id), tone === "error" ? 8_000 : 4_500);
}
