/** What the admin screens share: the admins-only gate, their tabs and deleting a product. */
import type { ComponentChildren } from "preact";
import { api } from "../../api";
import { Empty, errorText, PageTitle } from "../../components/ui";
import { useTitle } from "../../hooks";
import { currentRoute, href } from "../../router";
import { sessionStore } from "../../session";
import { useStore } from "../../store";
import { announce } from "../../toasts";
import type { Product } from "../../types";

/** Shows its children to admins only; everyone else gets a way forward instead of a blank page. */
export function AdminOnly(props: { title: string; children: ComponentChildren }) {
  const session = useStore(sessionStore);
  useTitle(props.title);
  if (session?.user.role === "admin") return <>{props.children}</>;
  return (
    <section>
      <PageTitle>{props.title}</PageTitle>
      <Empty>
        {session ? (
          <p>This page is for shop administrators. You are signed in as {session.user.email}.</p>
        ) : (
          <>
            <p>Sign in with an administrator account to manage the shop.</p>
            <a class="button button-primary" href={href("/signin", { returnTo: currentRoute() })}>
              Sign in
            </a>
          </>
        )}
      </Empty>
    </section>
  );
}

export function AdminTabs(props: { current: "products" | "orders" }) {
  return (
    <nav aria-label="Admin sections" class="tabs">
      <a href={href("/admin")} aria-current={props.current === "products" ? "page" : undefined}>
        Products
      </a>
      <a href={href("/admin/orders")} aria-current={props.current === "orders" ? "page" : undefined}>
        Orders
      </a>
    </nav>
  );
}

export async function confirmDelete(product: Pick<Product, "id" | "name">): Promise<boolean> {
  if (!window.confirm(`Delete “${product.name}”? It disappears from the shop.`)) return false;
  try {
    await api.deleteProduct(product.id);
    announce(`Deleted ${product.name}.`);
    return true;
  } catch (error) {
    announce(errorText(error), "error");
    return false;
  }
}
