import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import {
  bearerToken,
  type HttpError,
  isVerificationUnavailable,
  type Logger,
  notFound,
  problemBody,
  serviceUnavailable,
  type TokenVerifier,
  tokenInUrl,
  tooManyRequests,
  unauthorized,
} from "@shopstream/runtime";
import { WebSocketServer } from "ws";
import type { SocketHub } from "./socket-hub.js";

export const WEBSOCKET_PATH = "/notifications/ws";
/** The subprotocol a client offers before its access token: `["bearer", <token>]`. */
export const BEARER_PROTOCOL = "bearer";

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
const DOTTED = /^bearer\.(.+)$/i;

const offeredProtocols = (req: IncomingMessage) =>
  (req.headers["sec-websocket-protocol"] ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);

/**
 * The access token of an upgrade request, read as the gateway reads it (so both check the same
 * token): `Authorization: Bearer`, else an offered subprotocol: `bearer, <token>` or
 * `bearer.<token>` (browsers cannot set headers on a WebSocket). Never the URL's query: see
 * `tokenInUrl`. Undefined when none was sent; "" when one was sent but is malformed.
 */
export function upgradeToken(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  if (authorization !== undefined) return bearerToken(authorization.trim()) ?? "";
  for (const protocol of offeredProtocols(req)) {
    const dotted = DOTTED.exec(protocol);
    if (dotted) return dotted[1]!;
    if (JWT_SHAPE.test(protocol)) return protocol;
  }
  return undefined;
}

/**
 * The subprotocol to answer with: a browser fails the handshake unless the server picks one of
 * those it offered. `bearer` when offered (the token itself is not echoed), else the offer that
 * carried the token.
 */
function chooseProtocol(protocols: Set<string>): string | false {
  if (protocols.has(BEARER_PROTOCOL)) return BEARER_PROTOCOL;
  for (const p of protocols) if (DOTTED.test(p) || JWT_SHAPE.test(p)) return p;
  return false;
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
    handleProtocols: chooseProtocol,
  });
  let accepting = true;

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Only the path is ever logged or echoed: a client may still put a token in the query.
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== WEBSOCKET_PATH)
      return refuse(socket, notFound("No WebSocket endpoint here"), url.pathname);
    const leaked = tokenInUrl(url.searchParams);
    if (leaked) return refuse(socket, leaked, url.pathname);
    if (!accepting) return refuse(socket, serviceUnavailable("The server is shutting down"), url.pathname);
    const token = upgradeToken(req);
    if (token === undefined) return refuse(socket, unauthorized(), url.pathname);
    let userId: string;
    try {
      userId = (await verifier.verify(token)).id;
    } catch (err) {
      // The runtime's rule, as for every HTTP request: a JWKS that cannot be had is our outage (503).
      if (isVerificationUnavailable(err)) {
        logger.warn({ err: (err as Error).message }, "websocket refused: access tokens cannot be checked");
        return refuse(
          socket,
          serviceUnavailable("Access tokens cannot be checked right now; try again shortly"),
          url.pathname,
        );
      }
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
