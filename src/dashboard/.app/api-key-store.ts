/** The part of the Web Storage API the key store uses (sessionStorage in the page). */
export interface KeyStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The API key the page sends, if any. */
export interface ApiKeyStore {
  get(): string | undefined;
  set(key: string): void;
  clear(): void;
}

const STORAGE_KEY = "cost-core.api-key";

/**
 * Keeps the key in session storage: it survives reloads of the tab and is gone
 * when the tab closes. Where storage is refused (some private modes), the key
 * lives in memory for the page's life.
 */
export function createApiKeyStore(storage: KeyStorage | undefined): ApiKeyStore {
  let memory: string | undefined;
  const attempt = <T>(action: () => T, fallback: T): T => {
    try {
      return storage ? action() : fallback;
    } catch {
      return fallback;
    }
  };
  return {
    get: () => attempt(() => storage?.getItem(STORAGE_KEY) ?? undefined, undefined) ?? memory,
    set(key) {
      memory = key;
      attempt(() => storage?.setItem(STORAGE_KEY, key), undefined);
    },
    clear() {
      memory = undefined;
      attempt(() => storage?.removeItem(STORAGE_KEY), undefined);
    },
  };
}
