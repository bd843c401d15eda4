import type { Logger } from "@shopstream/runtime";
import type { WebSocket } from "ws";

/** Close codes: 1001 going away (shutdown), 1008 policy violation (abuse), 4401 token expired. */
export const CLOSE = { goingAway: 1001, policy: 1008, tokenExpired: 4401 } as const;

/** A client that lets this much pile up unread is too slow to keep. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** setTimeout fires at once beyond this (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Connection {
  ws: WebSocket;
  userId: string;
  alive: boolean;
  windowStart: number;
  messagesInWindow: number;
  expiry?: NodeJS.Timeout;
}

export interface SocketHubOptions {
  pingIntervalMs: number;
  maxConnectionsPerUser: number;
  maxClientMessagesPerMinute: number;
  logger: Logger;
  openConnections: { set(value: number): void };
  messagesPushed: { inc(): void };
}

/** The WebSockets open on this replica, by user: delivery, keep-alive pings, limits. */
export class SocketHub {
  private readonly byUser = new Map<string, Set<Connection>>();
  private size = 0;
  private pinger?: NodeJS.Timeout;

  constructor(private readonly options: SocketHubOptions) {}

  hasRoomFor(userId: string): boolean {
    return (this.byUser.get(userId)?.size ?? 0) < this.options.maxConnectionsPerUser;
  }

  /** Adopts an upgraded socket; `expiresAt` (ms) is when its access token expires. */
  add(ws: WebSocket, userId: string, expiresAt: number | undefined): void {
    const conn: Connection = { ws, userId, alive: true, windowStart: Date.now(), messagesInWindow: 0 };
    let set = this.byUser.get(userId);
    if (!set) {
      set = new Set();
      this.byUser.set(userId, set);
    }
    set.add(conn);
    this.resize(1);

    if (expiresAt !== undefined) {
      conn.expiry = setTimeout(
        () => ws.close(CLOSE.tokenExpired, "access token expired"),
        Math.min(Math.max(expiresAt - Date.now(), 0), MAX_TIMER_MS),
      );
      conn.expiry.unref();
    }
    ws.on("pong", () => {
      conn.alive = true;
    });
    // Clients have nothing to say: messages are ignored, and a flood closes the connection.
    ws.on("message", () => {
      const now = Date.now();
      if (now - conn.windowStart >= 60_000) {
        conn.windowStart = now;
        conn.messagesInWindow = 0;
      }
      if (++conn.messagesInWindow > this.options.maxClientMessagesPerMinute) {
        this.options.logger.info({ userId }, "websocket closed: too many client messages");
        ws.close(CLOSE.policy, "clients do not send messages");
      }
    });
    // Oversized frames and protocol errors: ws closes the connection itself (1009, 1002).
    ws.on("error", (err) => this.options.logger.info({ userId, err: err.message }, "websocket error"));
    ws.on("close", () => {
      clearTimeout(conn.expiry);
      set.delete(conn);
      if (set.size === 0 && this.byUser.get(userId) === set) this.byUser.delete(userId);
      this.resize(-1);
    });
  }

  /** Sends to every open connection of the user on this replica. */
  deliver(userId: string, message: string): void {
    for (const conn of this.byUser.get(userId) ?? []) {
      if (conn.ws.readyState !== conn.ws.OPEN) continue;
      if (conn.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        this.options.logger.info({ userId }, "websocket dropped: the client does not read");
        conn.ws.terminate();
        continue;
      }
      conn.ws.send(message);
      this.options.messagesPushed.inc();
    }
  }

  /** Pings every connection each interval; one that did not pong since the last ping is dropped. */
  startPinging(): void {
    this.pinger = setInterval(() => {
      for (const set of this.byUser.values()) {
        for (const conn of set) {
          if (!conn.alive) {
            this.options.logger.info({ userId: conn.userId }, "websocket dropped: no pong");
            conn.ws.terminate();
            continue;
          }
          conn.alive = false;
          conn.ws.ping();
        }
      }
    }, this.options.pingIntervalMs);
    this.pinger.unref();
  }

  /** Closes every connection (a clean close handshake, then termination after `graceMs`). */
  async closeAll(code: number, reason: string, graceMs = 2000): Promise<void> {
    clearInterval(this.pinger);
    const closed: Promise<void>[] = [];
    for (const set of this.byUser.values()) {
      for (const { ws } of set) {
        closed.push(new Promise<void>((resolve) => ws.once("close", () => resolve())));
        ws.close(code, reason);
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), graceMs);
    });
    if ((await Promise.race([Promise.all(closed), grace])) === "late") {
      for (const set of this.byUser.values()) for (const { ws } of set) ws.terminate();
      await Promise.all(closed);
    }
    clearTimeout(timer);
  }

  private resize(delta: number) {
    this.size += delta;
    this.options.openConnections.set(this.size);
  }
}
