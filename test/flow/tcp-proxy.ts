import type { AddressInfo } from "node:net";
import { createServer, type Socket, connect as tcpConnect } from "node:net";

/**
 * A TCP proxy in front of a store (RabbitMQ, Redis, MariaDB) that a test can cut: `cut()`
 * destroys every connection and refuses new ones (accepted, then reset at once) until `restore()`.
 * `stall()` is a store that stops answering without closing anything (a frozen process, a host
 * gone from the network): connections stay open, new ones are accepted, and nothing is forwarded
 * either way until `resume()`, which delivers what was held.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  let cut = false;
  let stalled = false;
  let accepted = 0;
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  const forward = ([client, upstream]: [Socket, Socket]) => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    accepted++;
    const upstream = tcpConnect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    sockets.add(client);
    sockets.add(upstream);
    pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      pairs.delete(pair);
    };
    for (const s of [client, upstream]) {
      s.on("error", end);
      s.on("close", end);
    }
    if (!stalled) forward(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `amqp://127.0.0.1:${port}`,
    /** The proxy's address under another scheme (`redis`, …). */
    urlAs: (scheme: string) => `${scheme}://127.0.0.1:${port}`,
    /** Connections accepted since the proxy started (reconnects count again). */
    accepted: () => accepted,
    open: () => sockets.size / 2,
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      cut = false;
    },
    stall() {
      stalled = true;
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
      }
    },
    resume() {
      stalled = false;
      for (const pair of pairs) forward(pair);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
