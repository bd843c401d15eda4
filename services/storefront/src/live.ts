// Live order status over the notifications WebSocket. The socket reconnects with a growing, jittered
// delay; every (re)connect re-reads the notification history and the orders, so nothing said while
// the socket was down is missed.
import { api, refreshSession } from "./api";
import { loadOrders, patchOrderStatus, statusLabel } from "./orders";
import { currentSession } from "./session";
import { createStore } from "./store";
import { announce, type Tone } from "./toasts";
import type { OrderEvent, OrderStatus } from "./types";

export type LiveState = "off" | "connecting" | "live" | "reconnecting";

export const liveStore = createStore<LiveState>("off");
/** Bumped on every (re)connect: pages that show orders re-fetch when it changes. */
export const resyncStore = createStore(0);

const seen = new Set<string>();
let socket: WebSocket | null = null;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let failures = 0;
let running = false;
let connecting = false;
/** Bumped by start/stop, so a connect that was waiting on a token refresh knows it is stale. */
let generation = 0;
let lastEventAt = "";

export function wsUrl(path: string): string {
  const protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${protocol}//${window.location.host}${path}`;
}

const TONE: Partial<Record<OrderStatus, Tone>> = {
  paid: "success",
  delivered: "success",
  shipped: "success",
  payment_failed: "error",
};

function isOrderEvent(value: unknown): value is OrderEvent {
  const event = value as OrderEvent;
  return typeof event === "object" && event !== null && typeof event.orderId === "string" && !!event.status;
}

function deliver(event: OrderEvent, tell: boolean): void {
  const key = `${event.orderId}|${event.status}|${event.at}`;
  if (seen.has(key)) return;
  seen.add(key);
  if (event.at > lastEventAt) lastEventAt = event.at;
  if (event.type === "payment.refunded") {
    // Not a status of the order: the pages re-read it, which shows when it was refunded.
    if (tell) announce(`Order ${event.orderId.slice(0, 8)}: your payment was refunded`, "info");
    resyncStore.update((n) => n + 1);
    void loadOrders();
    return;
  }
  // Other payment events only foretell the order's own next status, which follows as order.*.
  if (event.type?.startsWith("payment.")) return;
  patchOrderStatus(event.orderId, event.status, event.at);
  // "Pending" is what the person just did themselves; only news is worth interrupting for.
  if (tell && event.status !== "pending") {
    announce(
      `Order ${event.orderId.slice(0, 8)}: ${statusLabel(event.status)}`,
      TONE[event.status] ?? "info",
    );
  }
}

/** Replays what happened while we were not listening; the first time, only remembers where we are. */
async function catchUp(): Promise<void> {
  const firstTime = lastEventAt === "";
  try {
    const { items } = await api.notifications();
    const history = items.filter(isOrderEvent).sort((a, b) => a.at.localeCompare(b.at));
    for (const event of history) {
      if (firstTime) {
        seen.add(`${event.orderId}|${event.status}|${event.at}`);
        if (event.at > lastEventAt) lastEventAt = event.at;
      } else if (event.at >= lastEventAt) {
        deliver(event, true);
      }
    }
  } catch {
    // The history is a nicety; the orders reload below still brings every status up to date.
  }
  resyncStore.update((n) => n + 1);
  void loadOrders();
}

/** Seconds-precision check of a JWT's `exp`, so we do not open a socket with a token about to expire. */
function expiresSoon(token: string): boolean {
  try {
    const payload = JSON.parse(atob((token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/")));
    return typeof payload.exp === "number" && payload.exp * 1000 < Date.now() + 30_000;
  } catch {
    return false;
  }
}

async function connect(): Promise<void> {
  let session = currentSession();
  if (!running || !session || connecting || socket) return;
  const mine = generation;
  connecting = true;
  try {
    if (expiresSoon(session.accessToken)) await refreshSession(session.accessToken);
    // A socket that never opened may have been refused for its token: a plain request refreshes it.
    else if (failures > 0) await api.me();
  } catch {
    // Offline or signed out: the retry below (or stop()) takes it from here.
  }
  connecting = false;
  session = currentSession();
  if (!running) return;
  if (mine !== generation) {
    // Signed out and in again while we waited: connect for the new session instead.
    void connect();
    return;
  }
  if (!session) {
    stopLiveUpdates();
    return;
  }
  liveStore.set(failures > 0 ? "reconnecting" : "connecting");
  // The token travels as a subprotocol (`bearer, <token>`), never in the URL, which ends up in logs.
  const ws = new WebSocket(wsUrl("/api/notifications/ws"), ["bearer", session.accessToken]);
  socket = ws;
  let opened = false;
  ws.onopen = () => {
    opened = true;
    failures = 0;
    liveStore.set("live");
    void catchUp();
  };
  ws.onmessage = (message) => {
    try {
      const event: unknown = JSON.parse(String(message.data));
      if (isOrderEvent(event)) deliver(event, true);
    } catch {
      // Not a message for us.
    }
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = null;
    if (!running) return;
    if (!opened) failures++;
    else failures = 1;
    liveStore.set("reconnecting");
    scheduleReconnect();
  };
}

function scheduleReconnect(): void {
  clearTimeout(retryTimer);
  const base = Math.min(30_000, 1_000 * 2 ** Math.max(0, failures - 1));
  retryTimer = setTimeout(() => void connect(), base / 2 + Math.random() * (base / 2));
}

function reconnectNow(): void {
  if (running && !socket) {
    clearTimeout(retryTimer);
    void connect();
  }
}

export function startLiveUpdates(): void {
  if (running) return;
  running = true;
  generation++;
  failures = 0;
  window.addEventListener("online", reconnectNow);
  void connect();
}

export function stopLiveUpdates(): void {
  running = false;
  generation++;
  clearTimeout(retryTimer);
  window.removeEventListener("online", reconnectNow);
  const ws = socket;
  socket = null;
  ws?.close(1000, "signed out");
  lastEventAt = "";
  seen.clear();
  liveStore.set("off");
}
