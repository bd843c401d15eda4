// Money is integer minor units (cents) with an ISO 4217 currency; the currency decides the decimals.
const formatters = new Map<string, Intl.NumberFormat>();

function formatter(currency: string): Intl.NumberFormat {
  let format = formatters.get(currency);
  if (!format) {
    try {
      format = new Intl.NumberFormat(undefined, { style: "currency", currency });
    } catch {
      // An unknown currency code still shows an amount rather than breaking the page.
      format = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
    formatters.set(currency, format);
  }
  return format;
}

/** Digits after the decimal point for a currency: 2 for EUR and USD, 0 for JPY. */
export function minorDigits(currency: string): number {
  return formatter(currency).resolvedOptions().maximumFractionDigits ?? 2;
}

export function formatMoney(cents: number, currency: string): string {
  return formatter(currency).format(cents / 10 ** minorDigits(currency));
}

/** "12.5" or "12,50" typed in a price field → 1250; null when it is not an amount. */
export function parseMoney(text: string, currency: string): number | null {
  const normalized = text.trim().replace(/\s/g, "").replace(",", ".");
  if (!/^\d+(\.\d+)?$/.test(normalized)) return null;
  const digits = minorDigits(currency);
  const [whole = "0", fraction = ""] = normalized.split(".");
  if (fraction.length > digits) return null;
  return Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, "0") || "0");
}

/** 1250 → "12.50" for a price input. */
export function centsToInput(cents: number, currency: string): string {
  const digits = minorDigits(currency);
  return digits === 0 ? String(cents) : (cents / 10 ** digits).toFixed(digits);
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateFormat.format(date);
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}
