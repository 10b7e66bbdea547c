const valid = new Map<string, boolean>();

/** Whether the runtime knows an IANA time zone name such as "America/New_York". */
export function isTimeZone(name: string): boolean {
  if (name.length === 0 || name.length > 64) return false;
  let ok = valid.get(name);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: name });
      ok = true;
    } catch {
      ok = false;
    }
    if (valid.size < 1_000) valid.set(name, ok);
  }
  return ok;
}
