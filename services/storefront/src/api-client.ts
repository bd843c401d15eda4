// The HTTP client of the storefront. It knows nothing about the DOM, so it runs (and is tested) in Node:
// the browser wiring (localStorage, Web Locks) is passed in by `api.ts`.
import type { Session } from "./types.js";

export interface FieldError {
  path: string;
  message: string;
}

interface ProblemInit {
  status: number;
  title: string;
  detail?: string;
  type?: string;
  errors?: FieldError[];
}

/** An `application/problem+json` answer (or a network failure, status 0) in a form the UI can show. */
export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly type: string;
  readonly errors: FieldError[];

  constructor(problem: ProblemInit) {
    const detail = problem.detail || problem.title;
    super(detail);
    this.name = "ApiError";
    this.status = problem.status;
    this.title = problem.title;
    this.detail = detail;
    this.type = problem.type ?? "about:blank";
    this.errors = problem.errors ?? [];
  }

  /** Field messages keyed by the API field name ("/priceCents", "body.priceCents" → "priceCents"). */
  fieldErrors(): Record<string, string> {
    const byField: Record<string, string> = {};
    for (const { path, message } of this.errors) {
      const field = fieldName(path);
      byField[field] = byField[field] ? `${byField[field]} ${message}` : message;
    }
    return byField;
  }
}

export function fieldName(path: string): string {
  return path
    .replace(/^[#/]+/, "")
    .replace(/^body[./]/, "")
    .replace(/\//g, ".");
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

/** What the client needs from wherever the session is kept. */
export interface SessionStore {
  get(): Session | null;
  set(session: Session): void;
  clear(): void;
}

export interface ApiClientOptions {
  baseUrl: string;
  session: SessionStore;
  fetch?: typeof fetch;
  /**
   * Runs `task` while no other tab runs one. A refresh token is single-use (reusing one revokes the
   * whole family), so two tabs must never spend the same token at once.
   */
  exclusive?: <T>(task: () => Promise<T>) => Promise<T>;
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is, with the blob's own Content-Type (image uploads). */
  rawBody?: Blob;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** false: send no token and never refresh (sign-in, sign-up). */
  auth?: boolean;
}

const SESSION_ENDED = "Your session has ended. Please sign in again.";

export function createApiClient(options: ApiClientOptions) {
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const exclusive = options.exclusive ?? (<T>(task: () => Promise<T>) => task());
  let refreshing: Promise<Session | null> | null = null;

  async function send(path: string, request: RequestOptions, token: string | undefined): Promise<Response> {
    const headers: Record<string, string> = {
      Accept: "application/json, application/problem+json",
      ...request.headers,
    };
    let body: Blob | string | undefined;
    if (request.rawBody) {
      body = request.rawBody;
      headers["Content-Type"] = request.rawBody.type || "application/octet-stream";
    } else if (request.body !== undefined) {
      body = JSON.stringify(request.body);
      headers["Content-Type"] = "application/json";
    }
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      return await doFetch(options.baseUrl + path, {
        method: request.method ?? (body === undefined ? "GET" : "POST"),
        headers,
        body,
        signal: request.signal,
      });
    } catch (error) {
      if (request.signal?.aborted) throw error;
      throw new ApiError({
        status: 0,
        title: "Network error",
        detail: "Could not reach ShopStream. Check your connection and try again.",
      });
    }
  }

  /**
   * Trades the refresh token for new tokens, once for all callers: concurrent 401s share one refresh.
   * Resolves to null (and signs out) when the server refuses the refresh token.
   */
  function refreshSession(staleAccessToken?: string): Promise<Session | null> {
    refreshing ??= exclusive(async () => {
      const current = options.session.get();
      if (!current) return null;
      // Someone else (another request, another tab) already rotated the tokens: use theirs.
      if (staleAccessToken && current.accessToken !== staleAccessToken) return current;
      const response = await send(
        "/auth/refresh",
        { body: { refreshToken: current.refreshToken } },
        undefined,
      );
      if (response.ok) {
        const next = (await response.json()) as Session;
        options.session.set(next);
        return next;
      }
      // A server hiccup is not a reason to sign the person out; a refused token is.
      if (response.status >= 500 || response.status === 429) throw await problemFrom(response);
      options.session.clear();
      return null;
    }).finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  /** Sends with the session's token; on a 401, refreshes once and sends again. */
  async function exchange(path: string, request: RequestOptions): Promise<Response> {
    const token = request.auth === false ? undefined : options.session.get()?.accessToken;
    let response = await send(path, request, token);
    if (response.status === 401 && token) {
      const renewed = await refreshSession(token);
      if (renewed) response = await send(path, request, renewed.accessToken);
      if (!renewed || response.status === 401) {
        options.session.clear();
        throw new ApiError({ status: 401, title: "Signed out", detail: SESSION_ENDED });
      }
    }
    return response;
  }

  async function request<T>(path: string, request: RequestOptions = {}): Promise<T> {
    const response = await exchange(path, request);
    if (!response.ok) throw await problemFrom(response);
    const text = response.status === 204 ? "" : await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A `fetch` for the typed client (openapi-fetch): the same token, refresh and network-error
   * handling as `request`, for a Request the typed client built under `baseUrl`.
   */
  async function fetchRequest(input: Request, { auth = true }: { auth?: boolean } = {}): Promise<Response> {
    const url = new URL(input.url);
    const base = new URL(options.baseUrl, url).pathname;
    const path = url.pathname.slice(base.length) + url.search;
    // The body's type travels on the Blob (`send` sets Content-Type from it).
    const headers = Object.fromEntries([...input.headers].filter(([name]) => name !== "content-type"));
    const rawBody = input.body === null ? undefined : await input.blob();
    const method = input.method as RequestOptions["method"];
    return exchange(path, { method, headers, rawBody, auth, signal: input.signal });
  }

  return { request, refreshSession, fetch: fetchRequest };
}

export type ApiClient = ReturnType<typeof createApiClient>;

const FALLBACK_DETAIL: Record<number, string> = {
  400: "The request was not accepted. Check the form and try again.",
  401: "Please sign in to continue.",
  403: "You are not allowed to do that.",
  404: "We could not find what you asked for.",
  409: "That conflicts with the current state. Refresh and try again.",
  413: "That file is too large.",
  415: "That file type is not supported.",
  429: "Too many requests. Wait a moment and try again.",
};

async function problemFrom(response: Response): Promise<ApiError> {
  let problem: unknown;
  if ((response.headers.get("Content-Type") ?? "").includes("json")) {
    try {
      problem = await response.json();
    } catch {
      // A body that is not JSON after all: fall back to the generic message.
    }
  }
  return apiErrorOf(response, problem);
}

/** The ApiError of a failed answer, from its problem body when it has one. */
export function apiErrorOf(response: Pick<Response, "status" | "statusText">, body: unknown): ApiError {
  const status = response.status;
  const generic =
    FALLBACK_DETAIL[status] ??
    (status >= 500
      ? "The shop is having trouble right now. Please try again in a moment."
      : "Something went wrong.");
  const problem = (typeof body === "object" && body !== null ? body : {}) as Partial<ProblemInit>;
  return new ApiError({
    status,
    title: typeof problem.title === "string" ? problem.title : response.statusText || "Error",
    detail: typeof problem.detail === "string" && problem.detail ? problem.detail : generic,
    type: typeof problem.type === "string" ? problem.type : undefined,
    errors: Array.isArray(problem.errors) ? problem.errors : undefined,
  });
}
