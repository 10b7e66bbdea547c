import type { ApiKeyStore } from "./api-key-store.js";
import { byId } from "./dom.js";

/** The API key form: a modal dialog, opened by the header button or by a call answered UNAUTHENTICATED. */
export interface KeyDialog {
  /** Opens the form (if closed) with a reason, e.g. the server's "API key not recognised". */
  open(reason?: string): void;
  readonly isOpen: boolean;
}

/**
 * Wires the dialog in index.html. The key goes to `store` (session storage) and
 * `onChange` reloads the page's data with it. A native <dialog> keeps focus
 * inside while open, closes on Escape and returns focus where it was.
 */
export function createKeyDialog(store: ApiKeyStore, onChange: () => void): KeyDialog {
  const dialog = byId("key-dialog", HTMLDialogElement);
  const form = byId("key-form", HTMLFormElement);
  const input = byId("key-input", HTMLInputElement);
  const reason = byId("key-reason", HTMLElement);
  const error = byId("key-error", HTMLElement);
  const forget = byId("key-forget", HTMLButtonElement);
  const cancel = byId("key-cancel", HTMLButtonElement);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key === "") {
      error.textContent = "Enter a key, or press Cancel.";
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    store.set(key);
    dialog.close();
    onChange();
  });
  forget.addEventListener("click", () => {
    store.clear();
    dialog.close();
    onChange();
  });
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    input.value = "";
    error.textContent = "";
    input.removeAttribute("aria-invalid");
  });

  return {
    open(why) {
      const hasKey = store.get() !== undefined;
      reason.textContent = why
        ? `The server refused the call: ${why}`
        : hasKey
          ? "A key is set for this tab. Enter another to replace it, or forget it."
          : "Enter an API key if this server asks for one. Without keys configured, the server runs in development mode and needs none.";
      forget.hidden = !hasKey;
      if (!dialog.open) dialog.showModal();
      input.focus();
    },
    get isOpen() {
      return dialog.open;
    },
  };
}
