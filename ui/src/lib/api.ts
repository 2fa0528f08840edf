// Typed wrappers around the Rust commands of the desktop shell. Errors arrive as
// { code, message } so views branch on `code`, never on message text.
import { invoke } from "@tauri-apps/api/core";

export type ErrorCode =
  | "invalid_input" | "not_found" | "sign_in_needed" | "conflicts_pending"
  | "guard_tripped" | "network" | "storage" | "keychain" | "internal";

export interface AppError { code: ErrorCode; message: string }

export interface Profile {
  id: string;
  name: string;
  tenant: string;
  client_id: string;
  odoo_url: string;
  odoo_database: string;
  odoo_login: string;
  graph_url: string;
  identity_url: string;
  created_at: string;
}

export function isAppError(e: unknown): e is AppError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** The message to show for any failure of a command. */
export function describeError(e: unknown): string {
  if (isAppError(e)) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export function listProfiles(): Promise<Profile[]> {
  return invoke<Profile[]>("list_profiles");
}
