import WebSocket, { type ClientOptions } from "ws";

export interface PushedMessage {
  id: string;
  type: string;
  orderId: string;
  status: string;
  at: string;
}

export interface TestClient {
  ws: WebSocket;
  messages: PushedMessage[];
  /** Resolves with the close code and reason the client saw. */
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

const wsUrl = (baseUrl: string) => `${baseUrl.replace(/^http/, "ws")}/notifications/ws`;

/**
 * Opens an authenticated connection, the token in the subprotocols (`["bearer", token]`, as the
 * storefront does, or `["bearer.<token>"]`) or, as a non-browser client can, in `Authorization`.
 * Never in the URL: a URL ends up in logs.
 */
export function openClient(
  baseUrl: string,
  token: string,
  via: "protocol" | "dotted-protocol" | "header" = "protocol",
  options: ClientOptions = {},
): Promise<TestClient> {
  const ws =
    via === "protocol"
      ? new WebSocket(wsUrl(baseUrl), ["bearer", token], options)
      : via === "dotted-protocol"
        ? new WebSocket(wsUrl(baseUrl), [`bearer.${token}`], options)
        : new WebSocket(wsUrl(baseUrl), { ...options, headers: { authorization: `Bearer ${token}` } });
  const messages: PushedMessage[] = [];
  ws.on("message", (data) => messages.push(JSON.parse(data.toString())));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return new Promise((resolve, reject) => {
    ws.once("open", () =>
      resolve({
        ws,
        messages,
        closed,
        async close() {
          if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
          await closed;
        },
      }),
    );
    ws.once("error", reject);
  });
}

/** An upgrade the server refuses: its HTTP status, content type and parsed problem body. */
export function refusedUpgrade(
  baseUrl: string,
  options: { query?: string; protocols?: string[]; path?: string } = {},
): Promise<{ status: number; contentType: string; body: Record<string, unknown> }> {
  const url = `${options.path ? `${baseUrl.replace(/^http/, "ws")}${options.path}` : wsUrl(baseUrl)}${options.query ?? ""}`;
  const ws = new WebSocket(url, options.protocols ?? []);
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      ws.terminate();
      reject(new Error("the upgrade was accepted"));
    });
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers["content-type"] ?? ""),
          body: text ? JSON.parse(text) : {},
        });
      });
    });
  });
}
