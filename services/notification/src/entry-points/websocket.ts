import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import {
  type HttpError,
  type Logger,
  notFound,
  problemBody,
  serviceUnavailable,
  type TokenVerifier,
  tooManyRequests,
  unauthorized,
} from "@shopstream/runtime";
import { WebSocketServer } from "ws";
import type { SocketHub } from "./socket-hub.js";

export const WEBSOCKET_PATH = "/notifications/ws";
/** The subprotocol a client offers, followed by its access token: `["bearer", <token>]`. */
export const BEARER_PROTOCOL = "bearer";

const TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * The access token of an upgrade request: from the `Sec-WebSocket-Protocol` header (browsers
 * cannot set `Authorization` on a WebSocket) or else from `?access_token=`.
 */
export function upgradeToken(req: IncomingMessage, url: URL): string | undefined {
  const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  const at = offered.indexOf(BEARER_PROTOCOL);
  const fromProtocol = at >= 0 ? offered[at + 1] : undefined;
  const token = fromProtocol || url.searchParams.get("access_token") || undefined;
  return token && token.length <= 4096 && TOKEN.test(token) ? token : undefined;
}

/** When a verified token expires (ms), from its `exp` claim. */
function expiryOf(token: string): number | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
    return typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Answers a refused upgrade with a problem+json response and closes the socket. */
function refuse(socket: Duplex, error: HttpError, instance: string) {
  if (socket.destroyed) return;
  const body = JSON.stringify(problemBody(error, instance));
  const headers = {
    Connection: "close",
    "Content-Type": "application/problem+json",
    "Content-Length": String(Buffer.byteLength(body)),
    ...error.extra.headers,
  };
  socket.end(
    `HTTP/1.1 ${error.status} ${error.title}\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join("\r\n")}\r\n\r\n${body}`,
  );
}

export interface WebSocketEndpoint {
  /** Refuses new upgrades (503) from now on: shutdown. */
  stopAccepting(): void;
}

/**
 * `GET /notifications/ws` on the service's own HTTP server (ws in noServer mode): the access
 * token is verified before the upgrade, so an unauthenticated client gets a plain 401 and never
 * a socket. A client that offered the `bearer` subprotocol gets it back, as browsers require.
 */
export function attachWebSocketEndpoint(
  server: Server,
  deps: { verifier: TokenVerifier; hub: SocketHub; logger: Logger; maxMessageBytes: number },
): WebSocketEndpoint {
  const { verifier, hub, logger } = deps;
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: deps.maxMessageBytes,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(BEARER_PROTOCOL) ? BEARER_PROTOCOL : false),
  });
  let accepting = true;

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // The URL is never logged: its query may hold the access token.
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== WEBSOCKET_PATH)
      return refuse(socket, notFound("No WebSocket endpoint here"), url.pathname);
    if (!accepting) return refuse(socket, serviceUnavailable("The server is shutting down"), url.pathname);
    const token = upgradeToken(req, url);
    if (!token) return refuse(socket, unauthorized(), url.pathname);
    let userId: string;
    try {
      userId = (await verifier.verify(token)).id;
    } catch {
      logger.info("websocket refused: invalid or expired token");
      return refuse(socket, unauthorized("The access token is invalid or expired"), url.pathname);
    }
    if (!hub.hasRoomFor(userId)) {
      logger.info({ userId }, "websocket refused: too many connections");
      return refuse(socket, tooManyRequests("Too many open notification connections", 30), url.pathname);
    }
    if (socket.destroyed) return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      hub.add(ws, userId, expiryOf(token));
      logger.info({ userId }, "websocket opened");
      ws.once("close", (code) => logger.info({ userId, code }, "websocket closed"));
    });
  };

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    upgrade(req, socket, head).catch((err: Error) => {
      logger.error({ err: err.message }, "websocket upgrade failed");
      socket.destroy();
    });
  });

  return {
    stopAccepting() {
      accepting = false;
    },
  };
}
