/**
 * Whether an error means "a store (MariaDB, Redis, a peer over TCP) could not be reached or
 * dropped the connection", as opposed to a bug or bad data. Such failures heal when the store
 * is back, so consumers retry them for much longer before dead-lettering
 * (`EVENT_RETRY_UNAVAILABLE_MS`). The error's `cause` chain is searched too.
 */
export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    if (matches(e as ErrorLike)) return true;
    e = (e as ErrorLike).cause;
  }
  return false;
}

interface ErrorLike {
  name?: string;
  code?: string;
  errno?: number;
  sqlState?: string;
  cause?: unknown;
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ECONNABORTED",
]);

/**
 * MariaDB server errors that a retry can outlive: too many connections (1040), server shutdown
 * (1053), lock wait timeout (1205), deadlock (1213), read-only during a failover (1290, 1836),
 * connection killed (1927); and the client's lost-connection errors (2002, 2003, 2006, 2013).
 */
const MARIADB_TRANSIENT = new Set([1040, 1053, 1205, 1213, 1290, 1836, 1927, 2002, 2003, 2006, 2013]);

/** The mariadb connector's own errors for a pool or socket that cannot reach the server. */
const MARIADB_CLIENT = new Set([
  45001, // ER_CONNECTION_ALREADY_CLOSED
  45009, // ER_SOCKET_UNEXPECTED_CLOSE
  45012, // ER_CONNECTION_TIMEOUT
  45013, // ER_CMD_CONNECTION_CLOSED
  45019, // ER_SOCKET
  45026, // ER_SOCKET_TIMEOUT
  45028, // ER_GET_CONNECTION_TIMEOUT
  45039, // ER_INITIAL_TIMEOUT_ERROR
  45042, // ER_PING_TIMEOUT
  45061, // ER_POOL_NO_CONNECTION
]);

/** node-redis errors of a client that is (re)connecting or lost its socket. */
const REDIS_ERRORS = new Set([
  "ConnectionTimeoutError",
  "SocketTimeoutError",
  "ClientClosedError",
  "ClientOfflineError",
  "SocketClosedUnexpectedlyError",
  // The commands in flight when the connection is dropped on purpose (a server that stopped
  // answering: ./redis.ts, `watchReplies`).
  "DisconnectsClientError",
  "ReconnectStrategyError",
]);

function matches(e: ErrorLike): boolean {
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  if (typeof e.errno === "number" && (MARIADB_TRANSIENT.has(e.errno) || MARIADB_CLIENT.has(e.errno)))
    return true;
  // SQLSTATE class 08: connection exception.
  if (e.sqlState?.startsWith("08")) return true;
  // node-redis's error classes do not set `name` (it stays "Error"): they are told by class.
  return (!!e.name && REDIS_ERRORS.has(e.name)) || REDIS_ERRORS.has((e as object).constructor?.name);
}
