// ISO 4217 codes as the runtime's ICU knows them; built once, lazily, because
// Intl.supportedValuesOf allocates a fresh array on every call.
let known: ReadonlySet<string> | undefined;

/** Whether a string is an ISO 4217 alphabetic currency code known to the runtime, e.g. "USD". */
export function isCurrencyCode(code: string): boolean {
  if (!/^[A-Z]{3}$/.test(code)) return false;
  known ??= new Set(Intl.supportedValuesOf("currency"));
  return known.has(code);
}
