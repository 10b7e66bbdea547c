import { Code, ConnectError } from "@connectrpc/connect";

/** A failed call as the page shows it. */
export interface RpcFailure {
  /** The gRPC code name, e.g. "PERMISSION_DENIED". */
  readonly code: string;
  /** The server's message, without the code prefix ConnectError adds. */
  readonly message: string;
  /** The call needs (another) API key. */
  readonly unauthenticated: boolean;
}

/** What went wrong in a call, in the words gRPC users know ("UNAVAILABLE: ..."). */
export function rpcFailureOf(error: unknown): RpcFailure {
  const e = ConnectError.from(error);
  return { code: codeName(e.code), message: e.rawMessage, unauthenticated: e.code === Code.Unauthenticated };
}

/** Code.PermissionDenied -> "PERMISSION_DENIED", as gRPC spells the canonical codes. */
export function codeName(code: Code): string {
  return (Code[code] ?? "UNKNOWN").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
