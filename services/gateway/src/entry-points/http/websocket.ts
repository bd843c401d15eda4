import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import {
  clientAddressOf,
  HttpError,
  type Logger,
  notFound,
  serviceUnavailable,
  type TokenVerifier,
  tokenInUrl,
  tooManyRequests,
  trustedProxies,
  unauthorized,
} from "@shopstream/runtime";
import { checkToken, upgradeToken } from "../../domain/access.js";
import type { RateLimits } from "../../domain/ports.js";
import { NOTIFICATIONS_WS_PATH } from "../../domain/routes.js";
import { rateLimitHeaders } from "./api-routes.js";
import { writeSocketProblem } from "./problems.js";
import type { UpstreamProxy } from "./proxy.js";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * WebSocket pass-through for `/api/notifications/ws`: the token (a subprotocol, as browsers
 * cannot send Authorization; one in the URL is refused with 400) is checked at the upgrade, then the connection is
 * proxied to the notification service, which verifies it again. Open sockets are tracked so a
 * shutdown can close them instead of waiting for them.
 */
export function handleUpgrades(
  server: Server,
  deps: {
    verifier: TokenVerifier;
    rateLimits: RateLimits;
    notification: UpstreamProxy;
    logger: Logger;
    timeoutMs: number;
  },
): { closeAll(): void } {
  const open = new Set<Socket>();
  // The same peers as the HTTP routes' `req.ip` trusts (TRUST_PROXY).
  const trusted = trustedProxies();

  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // An upgraded socket is ours to guard: an error must not become an uncaught exception.
    socket.on("error", () => socket.destroy());
    const incoming = req.headers["x-request-id"];
    const requestId = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.headers["x-request-id"] = requestId;
    const url = new URL(req.url ?? "/", "http://gateway");
    const log = deps.logger.child({ requestId, path: url.pathname });
    const refuse = (problem: HttpError, headers: Record<string, string> = {}) => {
      log.info({ status: problem.status }, `upgrade ${url.pathname} ${problem.status}`);
      writeSocketProblem(socket, url.pathname, problem, { "X-Request-Id": requestId, ...headers });
    };

    void (async () => {
      if (url.pathname !== NOTIFICATIONS_WS_PATH) return refuse(notFound(`No WebSocket at ${url.pathname}`));
      if (String(req.headers.upgrade).toLowerCase() !== "websocket") {
        return refuse(new HttpError(400, "Bad Request", "Only WebSocket upgrades are supported"));
      }
      const leaked = tokenInUrl(url.searchParams);
      if (leaked) return refuse(leaked);
      const token = await checkToken(
        deps.verifier,
        upgradeToken(req.headers.authorization, req.headers["sec-websocket-protocol"]),
      );
      const address = clientAddressOf(req.socket.remoteAddress, req.headers["x-forwarded-for"], trusted);
      const decision = await deps.rateLimits.take([
        { bucket: "api", key: token.kind === "valid" ? `user:${token.user.id}` : `ip:${address}` },
      ]);
      const rateHeaders = decision.kind === "unknown" ? {} : rateLimitHeaders(decision.buckets);
      if (decision.kind === "limited") {
        return refuse(
          tooManyRequests("Too many requests; retry later", decision.retryAfterSeconds),
          rateHeaders,
        );
      }
      if (token.kind === "unverifiable") {
        return refuse(serviceUnavailable("Access tokens cannot be checked right now; try again shortly"));
      }
      if (token.kind !== "valid") {
        return refuse(
          unauthorized("A valid access token is required (Sec-WebSocket-Protocol: bearer, <token>)"),
        );
      }
      // The service serves its routes without `/api`; the query goes along (never a token: see above).
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      log.info({ userId: token.user.id }, `upgrade ${url.pathname} proxied`);
      deps.notification.upgrade(
        req,
        socket,
        head,
        `${url.pathname.slice("/api".length)}${url.search}`,
        deps.timeoutMs,
      );
    })().catch((err: Error) => {
      log.error({ err }, "upgrade failed");
      socket.destroy();
    });
  });

  return {
    closeAll() {
      trusted.close();
      for (const socket of open) socket.destroy();
      open.clear();
    },
  };
}
