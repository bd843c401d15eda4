/**
 * Which peers may say who the client is. A service takes the client's address from
 * `X-Forwarded-For` only when the connection comes from a peer it trusts, hop by hop from the
 * right: the first address not vouched for by a trusted hop is the client. Trusting more than the
 * edge lets any client that reaches a service another way choose its own address (and with it
 * its rate limits and login throttle).
 *
 * `TRUST_PROXY`, rendered per target by the platform model, is a comma-separated list of:
 *   - `none`: no peer; the socket's address is the client;
 *   - `loopback`, `linklocal`, `uniquelocal`: the named ranges (127/8 and ::1; 169.254/16 and
 *     fe80::/10; 10/8, 172.16/12, 192.168/16 and fc00::/7);
 *   - an IPv4 or IPv6 address or CIDR;
 *   - `dns:<name>`: the addresses a name resolves to (a container's alias, `tasks.<service>` on
 *     Swarm), resolved at start and again every 15 s, since a restarted edge gets a new address.
 * Unset: `loopback`.
 */
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

const RANGES: Record<string, [string, number, "ipv4" | "ipv6"][]> = {
  loopback: [
    ["127.0.0.0", 8, "ipv4"],
    ["::1", 128, "ipv6"],
  ],
  linklocal: [
    ["169.254.0.0", 16, "ipv4"],
    ["fe80::", 10, "ipv6"],
  ],
  uniquelocal: [
    ["10.0.0.0", 8, "ipv4"],
    ["172.16.0.0", 12, "ipv4"],
    ["192.168.0.0", 16, "ipv4"],
    ["fc00::", 7, "ipv6"],
  ],
};

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) as `10.0.0.1`. */
const plain = (address: string) =>
  address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;

export interface TrustedProxies {
  /** Express's `trust proxy` function: is the hop at `address` trusted? */
  (address: string, hop: number): boolean;
  /** Stops re-resolving names. */
  close(): void;
}

export function trustedProxies(spec = process.env.TRUST_PROXY ?? "loopback"): TrustedProxies {
  const fixed = new BlockList();
  const names: string[] = [];
  let resolved = new Set<string>();
  for (const raw of spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (raw === "none") continue;
    if (raw in RANGES) {
      for (const [net, prefix, family] of RANGES[raw]!) fixed.addSubnet(net, prefix, family);
    } else if (raw.startsWith("dns:") && raw.length > 4) {
      names.push(raw.slice(4));
    } else {
      const [address = "", prefix] = raw.split("/");
      const family = isIP(address);
      if (!family || (prefix !== undefined && !/^\d{1,3}$/.test(prefix)))
        throw new Error(
          `TRUST_PROXY: ${raw} is not none, loopback, linklocal, uniquelocal, an address, a CIDR or dns:<name>`,
        );
      const type = family === 4 ? "ipv4" : "ipv6";
      if (prefix === undefined) fixed.addAddress(address, type);
      else fixed.addSubnet(address, Number(prefix), type);
    }
  }
  const refresh = async () => {
    const next = new Set<string>();
    for (const name of names) {
      try {
        for (const a of await lookup(name, { all: true })) next.add(plain(a.address));
      } catch {
        // Not resolvable right now (the edge restarting): trust nothing for it until it is.
      }
    }
    resolved = next;
  };
  const timer = names.length ? setInterval(() => void refresh(), 15_000) : undefined;
  timer?.unref();
  if (names.length) void refresh();

  const trusted = (address: string) => {
    const a = plain(address);
    const family = isIP(a);
    if (!family) return false;
    return resolved.has(a) || fixed.check(a, family === 4 ? "ipv4" : "ipv6");
  };
  return Object.assign(trusted, { close: () => clearInterval(timer) });
}

/**
 * The client's address as Express computes `req.ip` with the same trust: the socket's peer, then
 * `X-Forwarded-For` from the right for as long as each hop is trusted.
 */
export function clientAddressOf(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: (address: string, hop: number) => boolean,
): string {
  let address = plain(peer ?? "unknown");
  const chain = String(forwardedFor ?? "")
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  for (let hop = 0; trusted(address, hop) && chain.length > 0; hop++) address = plain(chain.pop()!);
  return address;
}
