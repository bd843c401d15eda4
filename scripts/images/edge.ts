/**
 * A stand-in for Traefik's routing (no registry here to pull it from): one origin where `/api`
 * goes to the gateway container and everything else to the storefront container, WebSockets
 * included, so that a browser uses the containers as it would behind the real edge.
 */
import { createServer, request } from "node:http";
import { connect } from "node:net";

export interface Edge {
  url: string;
  close(): Promise<void>;
}

export async function startEdge(port: number, upstreams: { api: number; site: number }): Promise<Edge> {
  const target = (url = "/") => (url === "/api" || url.startsWith("/api/") ? upstreams.api : upstreams.site);
  const forwarded = (remote: string | undefined) => ({
    "x-forwarded-proto": "http",
    "x-forwarded-host": `127.0.0.1:${port}`,
    "x-forwarded-for": remote ?? "127.0.0.1",
  });

  const server = createServer((req, res) => {
    const upstream = request(
      {
        host: "127.0.0.1",
        port: target(req.url),
        method: req.method,
        path: req.url,
        headers: { ...req.headers, ...forwarded(req.socket.remoteAddress) },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.statusMessage, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", (err) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`edge: ${err.message}`);
    });
    req.pipe(upstream);
  });

  // Upgraded connections leave the HTTP server's bookkeeping; closing the edge ends them too.
  const tunnels = new Set<{ destroy(): void }>();
  server.on("upgrade", (req, socket, head) => {
    const upstream = connect(target(req.url), "127.0.0.1", () => {
      const headers = { ...req.headers, ...forwarded(req.socket.remoteAddress) };
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (const [k, v] of Object.entries(headers)) {
        for (const value of Array.isArray(v) ? v : [v]) if (value !== undefined) lines.push(`${k}: ${value}`);
      }
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    const drop = () => {
      socket.destroy();
      upstream.destroy();
      tunnels.delete(tunnel);
    };
    const tunnel = { destroy: drop };
    tunnels.add(tunnel);
    upstream.on("error", drop);
    socket.on("error", drop);
    upstream.on("close", drop);
    socket.on("close", drop);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of [...tunnels]) t.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
