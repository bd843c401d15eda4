// Small building blocks shared by the pages.
import type {
  ComponentChildren,
  InputHTMLAttributes,
  SelectHTMLAttributes,
  TextareaHTMLAttributes,
} from "preact";
import { useState } from "preact/hooks";
import { isApiError } from "../api";
import { formatMoney } from "../format";
import { statusLabel } from "../orders";
import { currentRoute, href } from "../router";
import type { OrderStatus } from "../types";

export function errorText(error: unknown): string {
  if (isApiError(error)) return error.detail;
  return "Something went wrong. Please try again.";
}

export function ErrorMessage(props: { error: unknown; onRetry?: () => void; title?: string }) {
  const signIn = isApiError(props.error) && props.error.status === 401;
  return (
    <div class="notice notice-error" role="alert" data-testid="error-message">
      {props.title && <p class="notice-title">{props.title}</p>}
      <p>{errorText(props.error)}</p>
      {signIn && (
        <p>
          <a href={href("/signin", { returnTo: currentRoute() })}>Sign in</a>
        </p>
      )}
      {props.onRetry && !signIn && (
        <button type="button" class="button" onClick={props.onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading(props: { label: string }) {
  return (
    <p class="loading" role="status" data-testid="loading">
      <span class="spinner" aria-hidden="true" />
      {props.label}
    </p>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return (
    <div class="empty" data-testid="empty-state">
      {props.children}
    </div>
  );
}

export function Money(props: { cents: number; currency: string }) {
  return <span class="money">{formatMoney(props.cents, props.currency)}</span>;
}

export function StatusBadge(props: { status: OrderStatus }) {
  return (
    <span class={`status status-${props.status}`} data-testid="order-status" data-status={props.status}>
      {statusLabel(props.status)}
    </span>
  );
}

/** The page's h1; it receives focus after navigation so screen readers announce the new page. */
export function PageTitle(props: { children: ComponentChildren }) {
  return (
    <h1 id="page-title" tabIndex={-1}>
      {props.children}
    </h1>
  );
}

export function ProductImage(props: { url: string | null; name: string; size: "thumb" | "card" | "large" }) {
  // A URL whose file is missing shows the same placeholder as no URL at all.
  const [failedUrl, setFailedUrl] = useState<string | null>(null);
  const dimension = props.size === "large" ? 480 : props.size === "card" ? 320 : 64;
  if (!props.url || failedUrl === props.url) {
    return (
      <div class={`image image-${props.size} image-placeholder`} role="img" aria-label="No image available">
        <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <path
            d="M4 5h16v14H4z M4 16l5-5 4 4 3-3 4 4"
            fill="none"
            stroke="currentColor"
            stroke-width="1.5"
          />
          <circle cx="15.5" cy="8.5" r="1.5" fill="currentColor" />
        </svg>
      </div>
    );
  }
  return (
    <img
      class={`image image-${props.size}`}
      src={props.url}
      alt={props.size === "thumb" ? "" : props.name}
      width={dimension}
      height={dimension}
      loading={props.size === "large" ? "eager" : "lazy"}
      decoding="async"
      onError={() => setFailedUrl(props.url)}
    />
  );
}

interface FieldProps {
  label: string;
  name: string;
  error?: string;
  hint?: string;
}

/** Label, hint and the server's message for one field, wired to the control with aria attributes. */
function Field(props: FieldProps & { id: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error && (
        <p class="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      )}
    </div>
  );
}

function controlAria(id: string, error?: string, hint?: string) {
  const describedBy = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ");
  return {
    id,
    "aria-invalid": error ? ("true" as const) : undefined,
    "aria-describedby": describedBy || undefined,
  };
}

export function TextField(props: InputHTMLAttributes<HTMLInputElement> & FieldProps) {
  const { label, error, hint, ...input } = props;
  const id = `field-${props.name}`;
  return (
    <Field id={id} label={label} name={props.name} error={error} hint={hint}>
      <input {...input} {...controlAria(id, error, hint)} />
    </Field>
  );
}

export function TextArea(props: TextareaHTMLAttributes<HTMLTextAreaElement> & FieldProps) {
  const { label, error, hint, ...textarea } = props;
  const id = `field-${props.name}`;
  return (
    <Field id={id} label={label} name={props.name} error={error} hint={hint}>
      <textarea rows={4} {...textarea} {...controlAria(id, error, hint)} />
    </Field>
  );
}

export function SelectField(
  props: SelectHTMLAttributes<HTMLSelectElement> & FieldProps & { children: ComponentChildren },
) {
  const { label, error, hint, children, ...select } = props;
  const id = `field-${props.name}`;
  return (
    <Field id={id} label={label} name={props.name} error={error} hint={hint}>
      <select {...select} {...controlAria(id, error, hint)}>
        {children}
      </select>
    </Field>
  );
}

/** The message for problems without a field of their own (or with a field this form does not show). */
export function FormError(props: { error: unknown; shownFields?: string[] }) {
  if (!props.error) return null;
  let text = errorText(props.error);
  if (isApiError(props.error) && props.shownFields) {
    const shown = new Set(props.shownFields);
    const others = Object.entries(props.error.fieldErrors()).filter(([field]) => !shown.has(field));
    if (others.length) text += ` ${others.map(([field, message]) => `${field}: ${message}`).join(" ")}`;
  }
  return (
    <div class="notice notice-error" role="alert" data-testid="form-error">
      <p>{text}</p>
    </div>
  );
}

export function fieldErrors(error: unknown): Record<string, string> {
  return isApiError(error) ? error.fieldErrors() : {};
}
