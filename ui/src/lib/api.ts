// THE CONTRACT between the desktop windows and the Tauri commands in `src-tauri/`.
//
// Each function below calls one Tauri command; the Rust side implements exactly these
// command names, argument names and result shapes. Result types mirror the serde shapes
// of `crates/app` (snake_case fields, as serde writes them; times are RFC 3339 strings).
// Argument names are single lower-case words (or given as snake_case and the command is
// declared `#[tauri::command(rename_all = "snake_case")]`), so Tauri's camelCase
// argument renaming never changes them.
//
// Every command fails with an `AppError` `{ code, message, retry_after_s? }`: views branch
// on `code` (see `errors.ts`), never on the message text.
//
// Fields marked "desktop" are not in `crates/app` yet: the Tauri command adds them (the
// shell knows the scheduler, the webhook listener and the settings file).
import { invoke } from "@tauri-apps/api/core";

// ---- errors (crates/app/src/error.rs) ----

export type ErrorCode =
  | "invalid_input" | "not_found" | "sign_in_needed" | "odoo_key_refused" | "conflicts_pending"
  | "guard_tripped" | "network" | "busy" | "storage" | "keychain" | "internal";

export interface AppError { code: ErrorCode; message: string; retry_after_s?: number }

export function isAppError(e: unknown): e is AppError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

// ---- profiles (crates/app/src/profile.rs) ----

/** What a person enters to create a profile (`ProfileDraft`). */
export interface ProfileDraft {
  name: string;
  tenant: string;
  client_id: string;
  odoo_url: string;
  odoo_database: string;
  odoo_login: string;
  graph_url: string | null;
  identity_url: string | null;
}

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

export type Direction = "both" | "odoo_to_microsoft" | "microsoft_to_odoo";

/** Desktop: what a profile syncs and how often (the wizard's later steps). */
export interface SyncSettings {
  calendar: boolean;
  documents: boolean;
  /** Odoo models whose attachments go to OneDrive, e.g. `project.task`. */
  document_models: string[];
  direction: Direction;
  window_past_days: number;
  window_future_days: number;
  poll_interval_minutes: number;
  /** A public https URL forwarding to the app's local listener; null = polling only. */
  webhook_url: string | null;
}

/** `OdooCheck` (crates/app/src/connect.rs). */
export interface OdooCheck {
  version: string;
  transport: string;
  user_id: number;
  user_name: string | null;
  user_login: string | null;
  user_tz: string | null;
}

/** `SignedIn` (crates/app/src/signin.rs). */
export interface SignedIn { profile: string; scopes: string[] }

/** `DeviceCodePrompt` (crates/auth/src/flow.rs); `expires_in` in seconds. */
export interface DeviceCodePrompt {
  verification_uri: string;
  user_code: string;
  expires_in: number;
  message: string | null;
}

// ---- status (crates/app/src/status.rs) ----

export interface FailedJob { id: number; kind: string; error: string | null }
export interface LastError { code: string; message: string }

/** The Odoo API key's expiry as the last connection learnt it (crates/odoo apikeys.rs). */
export type KeyExpiry =
  | { kind: "never" }
  | { kind: "at"; at: string }
  | { kind: "earliest_of"; at: string; keys: number }
  | { kind: "unknown"; why: string };

export interface Status {
  profile: string;
  signed_in: boolean;
  sign_in_needed: boolean;
  odoo_api_key_saved: boolean;
  /** Null until a connection read it. */
  odoo_key_expiry: KeyExpiry | null;
  /** The key expires within 7 days (or already has). */
  odoo_key_expires_soon: boolean;
  last_sync_at: string | null;
  last_outcome: string | null;
  last_error: LastError | null;
  next_sync_at: string | null;
  linked_events: number;
  pending_jobs: number;
  failed_jobs: FailedJob[];
  open_conflicts: number;
  plan_waiting_for_confirmation: boolean;
}

/** `webhook`: Graph posts to the public URL; `push (socketIo)`: OneDrive pushes over its
 * socketIo channel (documents without a public URL); `polling`: the profile's interval. */
export type SyncMode = "webhook" | "push (socketIo)" | "polling";

/** `status` result: `Status` flattened with the desktop's scheduler facts. */
export interface ProfileStatus extends Status {
  /** Desktop: the profile id, so actions can name it. */
  id: string;
  /** How changes reach the app: push notifications or polling. */
  mode: SyncMode;
  /** Desktop: why polling is used although a webhook URL is set (validation failed...). */
  mode_reason: string | null;
  /** Desktop: a cycle runs now. */
  syncing: boolean;
  /** Desktop: paused by the person. */
  paused: boolean;
  /** Desktop: when a pause ends; null while paused = until resumed. */
  paused_until: string | null;
}

// ---- sync and plans (crates/app/src/sync.rs, crates/engine, crates/sync-core) ----

export type Side = "odoo" | "microsoft";
export type MailKind = "invitation" | "update" | "cancellation" | "answer";
export interface Mail { side: Side; kind: MailKind; recipients: string[] }

export type Guard =
  | { guard: "first_sync" }
  | { guard: "mass_change"; changes: number; linked: number; emptied: Side | null }
  | { guard: "attendee_mails"; mails: number };

export type Outcome =
  | { outcome: "synced" }
  | { outcome: "dry_run" }
  | { outcome: "paused"; guards: Guard[] };

/** The canonical event, as far as the windows read it. */
export interface EventLike { title: string; [field: string]: unknown }

export type Op =
  | { op: "create"; side: Side; event: EventLike }
  | { op: "update"; side: Side; fields: string[]; event: EventLike }
  | { op: "delete"; side: Side; title: string }
  | { op: "respond"; side: Side; response: unknown }
  | { op: "link"; event: EventLike }
  | { op: "forget" };

export type ItemState = "created" | "changed" | "unchanged" | "deleted" | "absent";

export interface Decision {
  odoo: ItemState;
  microsoft: ItemState;
  rule: string;
  ops: Op[];
  conflicts: unknown[];
  mails: Mail[];
  error: string | null;
}

export interface SideCounts { creates: number; updates: number; deletes: number; responses: number }
export interface Counts {
  odoo: SideCounts;
  microsoft: SideCounts;
  links: number;
  forgets: number;
  open_conflicts: number;
  decided_conflicts: number;
  errors: number;
  mails: number;
}
export interface Plan { policy: unknown; entries: { key: string; decision: Decision }[]; counts: Counts }
export interface ItemError { item: string; message: string; job_id: number | null }

export interface CycleReport {
  outcome: Outcome;
  plan: Plan;
  /** `(item key, mail)` pairs: a tuple serializes as a two-element array. */
  mails: [string, Mail][];
  resynced: boolean;
  skipped_recurring: number;
  jobs_done: number;
  jobs_waiting: number;
  failed: ItemError[];
  item_errors: ItemError[];
  conflicts_opened: number;
}

export interface SyncResult {
  profile: string;
  outcome: "synced" | "dry_run" | "paused";
  summary: string;
  open_conflicts: number;
  report: CycleReport;
}

// ---- activity and restore (crates/app/src/activity.rs, restore.rs) ----

export interface ActivityLine {
  id: number;
  at: string;
  link_id: number | null;
  item: string;
  op: string;
  /** `odoo`, `microsoft` or `sync`. */
  origin: string;
  /** The decision-table arm (or guard) that decided it: the "why". */
  rule: string;
  before_hash: string | null;
  after_hash: string | null;
}

export interface Activity { profile: string; why: string | null; lines: ActivityLine[] }

export interface JournalLine {
  entry: number;
  at: string;
  side: string;
  /** `overwritten` or `deleted`. */
  reason: string;
  title: string | null;
  restored: boolean;
  link_id: number | null;
}

export interface Restored { entry: number; side: string; title: string }

// ---- conflicts (crates/app/src/conflicts.rs) ----

export type KeepSide = "odoo" | "microsoft";

export interface ConflictView {
  id: number;
  /** `fields`, `edit_vs_delete`, ...; `file` for a document (desktop). */
  kind: string;
  link_id: number | null;
  open: boolean;
  created_at: string;
  fields: string[];
  base: Record<string, unknown> | null;
  odoo: Record<string, unknown> | null;
  microsoft: Record<string, unknown> | null;
  resolution: unknown;
  title: string | null;
}

/** `Resolution`: `{"keep":"odoo"}`, `{"fields":{"title":"microsoft"}}`; for files also
 *  `"keep_both"` (desktop: a unit variant `KeepBoth`). */
export type Resolution =
  | { keep: KeepSide }
  | { fields: Record<string, KeepSide> }
  | "keep_both";

// ---- settings (desktop) ----

export type Language = "en" | "de";

export interface NotificationPrefs {
  conflicts: boolean;
  guard_paused: boolean;
  sign_in: boolean;
  errors: boolean;
  teams_meetings: boolean;
}

export interface Settings {
  start_at_login: boolean;
  language: Language;
  notifications: NotificationPrefs;
}

// ---- the commands ----

export const listProfiles = () => invoke<Profile[]>("list_profiles");

/** Saves a profile, its Odoo API key (keychain) and what it syncs. */
export const addProfile = (draft: ProfileDraft, key: string, options: SyncSettings) =>
  invoke<Profile>("add_profile", { draft, key, options });

/** Live connection test with the entered values; nothing is saved. */
export const checkOdoo = (draft: ProfileDraft, key: string) =>
  invoke<OdooCheck>("check_odoo", { draft, key });

/** Microsoft sign-in in the system browser (PKCE, loopback redirect); resolves when done. */
export const startSignIn = (profile: string) => invoke<SignedIn>("start_sign_in", { profile });

/** Device-code fallback: returns the URL and code to show at once... */
export const startDeviceCode = (profile: string) =>
  invoke<DeviceCodePrompt>("start_device_code", { profile });

/** ...then resolves when the person entered the code (or fails: sign_in_needed). */
export const finishDeviceCode = (profile: string) =>
  invoke<SignedIn>("finish_device_code", { profile });

export const removeProfile = (profile: string) => invoke<Profile>("remove_profile", { profile });

/** `sign_out` result (crates/app signout.rs). */
export interface SignedOut { profile: string; mailbox: string | null; links_kept: number }

/** Signs the profile out of Microsoft; links and history stay for the next sign-in. */
export const signOut = (profile: string) => invoke<SignedOut>("sign_out", { profile });

export const status = (profile: string) => invoke<ProfileStatus>("status", { profile });

export const syncNow = (profile: string) => invoke<SyncResult>("sync_now", { profile });

/** Pauses one profile (or all with null) for `minutes`, or until resumed with null. */
export const pause = (profile: string | null, minutes: number | null) =>
  invoke<void>("pause", { profile, minutes });

export const resume = (profile: string | null) => invoke<void>("resume", { profile });

/** The plan of a first sync or of a cycle a guard paused (a dry run otherwise). */
export const previewPlan = (profile: string) => invoke<SyncResult>("preview_plan", { profile });

/** Runs the shown plan (`sync --yes`). */
export const applyPlan = (profile: string) => invoke<SyncResult>("apply_plan", { profile });

/** Leaves the paused plan unapplied (nothing is written) and pauses the profile until resumed; resuming plans again. */
export const cancelPlan = (profile: string) => invoke<void>("cancel_plan", { profile });

/** The audit log, newest first; with `why`, only one item's story. */
export const activity = (profile: string, why: string | null) =>
  invoke<Activity>("activity", { profile, why });

export const journal = (profile: string) => invoke<JournalLine[]>("journal", { profile });

export const retryJob = (profile: string, job: number) => invoke<void>("retry_job", { profile, job });

export const restore = (profile: string, entry: number) =>
  invoke<Restored>("restore", { profile, entry });

export const conflicts = (profile: string) => invoke<ConflictView[]>("conflicts", { profile });

export const conflict = (profile: string, id: number) =>
  invoke<ConflictView>("conflict", { profile, id });

/** Records the decision; its writes are queued at once and run on the next cycle. */
export const resolveConflict = (profile: string, id: number, resolution: Resolution) =>
  invoke<ConflictView>("resolve_conflict", { profile, id, resolution });

export const getSettings = () => invoke<Settings>("get_settings");

export const setSettings = (settings: Settings) => invoke<Settings>("set_settings", { settings });

/** Closes this window (the conflict popup). Needs `core:window:allow-close` for the popup's
 *  window label in `src-tauri/capabilities`; outside Tauri it falls back to the browser's. */
export async function closeWindow(): Promise<void> {
  try {
    // Loaded on demand: only the popup closes itself, the main bundle stays small.
    const { getCurrentWindow } = await import("@tauri-apps/api/window");
    await getCurrentWindow().close();
  } catch {
    window.close();
  }
}
