import { h, setChildren, type Child } from "./dom.js";
import type { RpcFailure } from "./rpc-failure.js";

/** Shows "Loading…" in a panel body, unless it already shows data (a refresh keeps the old numbers visible). */
export function showLoading(body: HTMLElement): void {
  body.setAttribute("aria-busy", "true");
  if (body.childElementCount === 0) setChildren(body, h("p", { class: "state state--loading" }, "Loading…"));
}

/** Shows the panel's content. */
export function showContent(body: HTMLElement, ...content: Child[]): void {
  body.removeAttribute("aria-busy");
  delete body.dataset.failure;
  setChildren(body, ...content);
}

/** An empty state: what is missing and what would fill it. */
export function showEmpty(body: HTMLElement, title: string, hint: Child | readonly Child[]): void {
  showContent(body, h("div", { class: "state state--empty" }, h("p", { class: "state-title" }, title), h("p", { class: "muted" }, hint)));
}

/** An error state naming the gRPC code and the server's message. */
export function showFailure(body: HTMLElement, what: string, failure: RpcFailure): void {
  const key = `${what}\n${failure.code}\n${failure.message}`;
  // The same failure again (an automatic refresh): leave it, so screen readers do not hear it every minute.
  if (body.dataset.failure === key) {
    body.removeAttribute("aria-busy");
    return;
  }
  showContent(body, failureBlock(what, failure));
  body.dataset.failure = key;
}

/** The error block itself, for places that show it beside other content. */
export function failureBlock(what: string, failure: RpcFailure): HTMLElement {
  return h(
    "div",
    { class: "state state--error", role: "alert" },
    h("p", { class: "state-title" }, what),
    h("p", {}, h("code", { class: "code" }, failure.code), " ", failure.message || "(no message)"),
    failure.unauthenticated ? h("p", { class: "muted" }, "Enter an API key with the API key button above.") : null,
  );
}
