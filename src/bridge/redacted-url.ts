/** A URL for logs: without user info or query, where tokens tend to hide. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    parsed.search = parsed.search ? "?…" : "";
    return parsed.toString();
  } catch {
    return "(invalid URL)";
  }
}
