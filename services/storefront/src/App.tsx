import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { api } from "./api";
import { cartStore, itemCount, loadCart } from "./cart";
import { PageTitle } from "./components/ui";
import { useTitle } from "./hooks";
import { startLiveUpdates, stopLiveUpdates } from "./live";
import { resetOrders } from "./orders";
import { AuthPage } from "./pages/Auth";
import { AdminOrdersPage } from "./pages/admin/Orders";
import { AdminProductPage } from "./pages/admin/ProductEdit";
import { AdminProductsPage } from "./pages/admin/Products";
import { CartPage } from "./pages/Cart";
import { CatalogPage } from "./pages/Catalog";
import { OrderPage, OrdersPage } from "./pages/Orders";
import { ProductPage } from "./pages/Product";
import { href, type Location, match, navigate, useLocation } from "./router";
import { clearSession, sessionStore, updateUser } from "./session";
import { useStore } from "./store";
import { announce, dismissToast, toastStore } from "./toasts";

type Params = Record<string, string>;

/** Route patterns, first match wins; `:name` segments become params. */
const ROUTES: [string, (params: Params, query: URLSearchParams) => JSX.Element][] = [
  ["/", (_, query) => <CatalogPage query={query} />],
  ["/products/:id", (params) => <ProductPage id={params.id ?? ""} />],
  ["/cart", () => <CartPage />],
  ["/orders", () => <OrdersPage />],
  ["/orders/:id", (params) => <OrderPage id={params.id ?? ""} />],
  ["/signin", (_, query) => <AuthPage key="signin" mode="signin" query={query} />],
  ["/signup", (_, query) => <AuthPage key="signup" mode="signup" query={query} />],
  ["/admin", (_, query) => <AdminProductsPage query={query} />],
  ["/admin/orders", (_, query) => <AdminOrdersPage query={query} />],
  ["/admin/products/new", () => <AdminProductPage />],
  ["/admin/products/:id", (params) => <AdminProductPage id={params.id ?? ""} />],
];

function route(location: Location): JSX.Element {
  for (const [pattern, render] of ROUTES) {
    const params = match(pattern, location.path);
    if (params) return render(params, location.query);
  }
  return <NotFound />;
}

function NotFound() {
  useTitle("Page not found");
  return (
    <section>
      <PageTitle>Page not found</PageTitle>
      <p>
        There is nothing at this address. <a href={href("/")}>Go to the shop</a>
      </p>
    </section>
  );
}

async function signOut() {
  const refreshToken = sessionStore.get()?.refreshToken;
  clearSession();
  announce("You are signed out.");
  navigate("/");
  // Revoke the refresh token server-side; signing out locally must not wait for it.
  if (refreshToken) await api.logout(refreshToken).catch(() => undefined);
}

function Header() {
  const session = useStore(sessionStore);
  const { cart } = useStore(cartStore);
  const count = itemCount(cart);
  const { path } = useLocation();
  const current = (prefix: string) =>
    (prefix === "/" ? path === "/" || path.startsWith("/products") : path.startsWith(prefix))
      ? "page"
      : undefined;

  return (
    <header class="site-header">
      <div class="container header-inner">
        <a class="brand" href={href("/")}>
          ShopStream
        </a>
        <nav aria-label="Main" class="main-nav">
          <a href={href("/")} aria-current={current("/")}>
            Shop
          </a>
          {session && (
            <a href={href("/orders")} aria-current={current("/orders")} data-testid="nav-orders">
              Orders
            </a>
          )}
          {session?.user.role === "admin" && (
            <a href={href("/admin")} aria-current={current("/admin")} data-testid="nav-admin">
              Admin
            </a>
          )}
          <a href={href("/cart")} aria-current={current("/cart")} class="cart-link" data-testid="nav-cart">
            Cart{" "}
            <span class="badge" data-testid="cart-count" data-count={count}>
              {count}
            </span>
            <span class="visually-hidden">{count === 1 ? " item" : " items"}</span>
          </a>
          {session ? (
            <button type="button" class="button button-quiet" onClick={signOut} data-testid="sign-out">
              Sign out<span class="visually-hidden"> {session.user.name}</span>
            </button>
          ) : (
            <>
              <a href={href("/signin")} aria-current={current("/signin")} data-testid="nav-signin">
                Sign in
              </a>
              <a href={href("/signup")} aria-current={current("/signup")} data-testid="nav-signup">
                Sign up
              </a>
            </>
          )}
        </nav>
      </div>
    </header>
  );
}

function Toasts() {
  const toasts = useStore(toastStore);
  return (
    <div class="toasts" role="status" aria-live="polite" data-testid="toasts">
      {toasts.map((toast) => (
        <div key={toast.id} class={`toast toast-${toast.tone}`} data-testid="toast">
          <span>{toast.text}</span>
          <button
            type="button"
            class="toast-close"
            aria-label="Dismiss message"
            onClick={() => dismissToast(toast.id)}
          >
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

export function App() {
  const location = useLocation();
  const session = useStore(sessionStore);
  const userId = session?.user.id;
  const firstRender = useRef(true);

  // Signed in: confirm the account (and its role) with the server, load the cart, listen for order news.
  useEffect(() => {
    if (!userId) {
      stopLiveUpdates();
      resetOrders();
      void loadCart();
      return;
    }
    api.me().then(
      ({ user }) => updateUser(user),
      () => undefined, // A refused session signs out inside the client; anything else can wait.
    );
    void loadCart();
    startLiveUpdates();
  }, [userId]);

  // After navigating, move focus to the new page's heading so keyboard and screen reader users land there.
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    window.scrollTo(0, 0);
    document.getElementById("page-title")?.focus({ preventScroll: true });
  }, [location.path]);

  return (
    <>
      <button type="button" class="skip-link" onClick={skipToMain}>
        Skip to content
      </button>
      <Header />
      <main id="main" class="container" tabIndex={-1}>
        {route(location)}
      </main>
      <footer class="site-footer">
        <div class="container">
          <p>ShopStream demo shop. Payments use test cards only.</p>
        </div>
      </footer>
      <Toasts />
    </>
  );
}

/** With hash routing, a link to "#main" would be read as a route: move focus by hand instead. */
function skipToMain() {
  document.getElementById("main")?.focus();
}
