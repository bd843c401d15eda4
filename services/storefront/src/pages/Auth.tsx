import { useState } from "preact/hooks";
import { api } from "../api";
import { loadCart } from "../cart";
import { FormError, fieldErrors, PageTitle, TextField } from "../components/ui";
import { useTitle } from "../hooks";
import { href } from "../router";
import { saveSession } from "../session";
import { announce } from "../toasts";

/** Only same-app routes are accepted as a place to return to after signing in. */
function safeReturn(returnTo: string | null): string {
  return returnTo?.startsWith("/") && !returnTo.startsWith("//") ? returnTo : "/";
}

export function AuthPage(props: { mode: "signin" | "signup"; query: URLSearchParams }) {
  const signUp = props.mode === "signup";
  const returnTo = safeReturn(props.query.get("returnTo"));
  const [form, setForm] = useState({ name: "", email: "", password: "" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const errors = fieldErrors(error);
  useTitle(signUp ? "Create an account" : "Sign in");

  const set = (name: keyof typeof form) => (event: Event) =>
    setForm({ ...form, [name]: (event.currentTarget as HTMLInputElement).value });

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = signUp
        ? await api.signUp({ name: form.name.trim(), email: form.email.trim(), password: form.password })
        : await api.login({ email: form.email.trim(), password: form.password });
      saveSession(session);
      void loadCart();
      announce(signUp ? `Welcome, ${session.user.name}!` : `Signed in as ${session.user.name}.`, "success");
      window.location.hash = `#${returnTo}`;
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  return (
    <section class="narrow">
      <PageTitle>{signUp ? "Create an account" : "Sign in"}</PageTitle>
      <form onSubmit={submit} class="card form" data-testid={signUp ? "signup-form" : "signin-form"}>
        <FormError
          error={error}
          shownFields={signUp ? ["name", "email", "password"] : ["email", "password"]}
        />
        {signUp && (
          <TextField
            label="Name"
            name="name"
            autoComplete="name"
            required
            value={form.name}
            onInput={set("name")}
            error={errors.name}
            data-testid="auth-name"
          />
        )}
        <TextField
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          value={form.email}
          onInput={set("email")}
          error={errors.email}
          data-testid="auth-email"
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete={signUp ? "new-password" : "current-password"}
          required
          value={form.password}
          onInput={set("password")}
          error={errors.password}
          hint={signUp ? "Use at least 10 characters." : undefined}
          data-testid="auth-password"
        />
        <button
          type="submit"
          class="button button-primary button-wide"
          disabled={busy}
          data-testid="auth-submit"
        >
          {busy ? "One moment…" : signUp ? "Create account" : "Sign in"}
        </button>
      </form>
      <p class="center">
        {signUp ? "Already have an account? " : "New to ShopStream? "}
        <a href={href(signUp ? "/signin" : "/signup", { returnTo: returnTo === "/" ? undefined : returnTo })}>
          {signUp ? "Sign in" : "Create an account"}
        </a>
      </p>
    </section>
  );
}
