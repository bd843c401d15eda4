import { defineService } from "@shopstream/runtime";
import { configSchema } from "./config.js";
import { RedisNotificationStore } from "./data-access/notification-store.js";
import { openPushChannel } from "./data-access/push-channel.js";
import { toMessage } from "./domain/notification.js";
import type { NotifyDeps } from "./domain/notify.js";
import { notificationRoutes } from "./entry-points/http/notification-routes.js";
import { CLOSE, SocketHub } from "./entry-points/http/socket-hub.js";
import { attachWebSocketEndpoint, type WebSocketEndpoint } from "./entry-points/http/websocket.js";
import { consumeNotificationEvents } from "./entry-points/messaging/consumers.js";

export const notificationService = defineService({
  name: "notification",
  configSchema,
  async create({ config, logger, metrics, connect, openRedis, openBroker, tokenVerifier }) {
    const redis = await openRedis(config);
    const broker = openBroker(config);
    const verifier = tokenVerifier(config);

    const hub = new SocketHub({
      pingIntervalMs: config.WS_PING_INTERVAL_MS,
      maxConnectionsPerUser: config.WS_MAX_CONNECTIONS_PER_USER,
      maxClientMessagesPerMinute: config.WS_MAX_CLIENT_MESSAGES_PER_MINUTE,
      logger,
      openConnections: metrics.gauge(
        "shopstream_notification_connections",
        "WebSocket connections open on this replica",
      ),
      messagesPushed: metrics.counter(
        "shopstream_notification_messages_pushed_total",
        "Notifications written to WebSocket connections",
      ),
    });
    const channel = await connect("redis subscriber", () =>
      openPushChannel(redis, logger, (userId, notification) => hub.deliver(userId, toMessage(notification))),
    );
    const store = new RedisNotificationStore(redis, {
      historyLimit: config.HISTORY_LIMIT,
      historyTtlSeconds: config.HISTORY_TTL_SECONDS,
      dedupTtlSeconds: config.EVENT_DEDUP_TTL_SECONDS,
    });
    const events = metrics.counter(
      "shopstream_notification_events_total",
      "Order and payment events consumed, by outcome",
      ["outcome"],
    );
    const notifyDeps: NotifyDeps = {
      store,
      channel,
      logger,
      countEvent: (outcome) => events.inc({ outcome }),
    };
    let endpoint: WebSocketEndpoint | undefined;

    return {
      readiness: {
        redis: () => redis.client.ping(),
        "redis subscriber": async () => {
          if (!channel.isReady()) throw new Error("not subscribed");
        },
        rabbitmq: async () => {
          if (!broker.isConnected()) throw new Error("not connected");
        },
      },
      routes: notificationRoutes({ store, verifier, logger }),
      async afterListen(server) {
        endpoint = attachWebSocketEndpoint(server, {
          verifier,
          hub,
          logger,
          maxMessageBytes: config.WS_MAX_MESSAGE_BYTES,
        });
        hub.startPinging();
        await consumeNotificationEvents(broker, notifyDeps);
      },
      // Open sockets would hold the HTTP drain: they are told the server is going away (1001)
      // and reconnect to another replica, before consumers and pools close.
      async beforeDrain() {
        endpoint?.stopAccepting();
        await hub.closeAll(CLOSE.goingAway, "server shutting down");
      },
    };
  },
});
