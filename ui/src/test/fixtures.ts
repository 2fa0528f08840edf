// Realistic answers of the Tauri commands, shaped as crates/app serializes them.
import type {
  Activity, ConflictView, JournalLine, Profile, ProfileStatus, Settings, SyncResult,
} from "../lib/api";

export const profile: Profile = {
  id: "p-1",
  name: "work",
  tenant: "contoso.onmicrosoft.com",
  client_id: "11111111-2222-3333-4444-555555555555",
  odoo_url: "https://acme.odoo.com",
  odoo_database: "acme",
  odoo_login: "alice@acme.example",
  graph_url: "https://graph.microsoft.com/v1.0",
  identity_url: "https://login.microsoftonline.com",
  created_at: "2026-11-20T08:00:00Z",
};

export const status: ProfileStatus = {
  id: "p-1",
  profile: "work",
  signed_in: true,
  sign_in_needed: false,
  odoo_api_key_saved: true,
  odoo_key_expiry: { kind: "at", at: "2027-02-20T08:00:00Z" },
  odoo_key_expires_soon: false,
  last_sync_at: "2026-11-23T09:00:00Z",
  last_outcome: "3 writes, 1 conflict",
  last_error: null,
  next_sync_at: "2026-11-23T09:05:00Z",
  linked_events: 42,
  pending_jobs: 2,
  failed_jobs: [],
  open_conflicts: 1,
  plan_waiting_for_confirmation: false,
  mode: "polling",
  mode_reason: "the webhook URL did not answer the validation",
  syncing: false,
  paused: false,
  paused_until: null,
};

export const activity: Activity = {
  profile: "work",
  why: null,
  lines: [
    { id: 3, at: "2026-11-23T09:00:02Z", link_id: 7, item: "\"Standup\"", op: "update microsoft", origin: "odoo", rule: "changed in Odoo only", before_hash: "a", after_hash: "b" },
    { id: 2, at: "2026-11-23T08:55:00Z", link_id: 8, item: "\"Budget review\"", op: "create odoo", origin: "microsoft", rule: "created in Outlook", before_hash: null, after_hash: "c" },
    { id: 1, at: "2026-11-23T08:50:00Z", link_id: 9, item: "\"Offsite\"", op: "delete microsoft", origin: "odoo", rule: "deleted in Odoo", before_hash: "d", after_hash: null },
  ],
};

export const journal: JournalLine[] = [
  { entry: 11, at: "2026-11-23T08:50:00Z", side: "microsoft", reason: "deleted", title: "Offsite", restored: false, link_id: 9 },
  { entry: 10, at: "2026-11-22T15:00:00Z", side: "odoo", reason: "overwritten", title: "Standup", restored: true, link_id: 7 },
];

const counts = (creates: number, updates: number, deletes: number) => ({ creates, updates, deletes, responses: 0 });

export const pausedPlan: SyncResult = {
  profile: "work",
  outcome: "paused",
  summary: "paused: first sync; 2 creates wait for your confirmation",
  open_conflicts: 0,
  report: {
    outcome: { outcome: "paused", guards: [{ guard: "first_sync" }, { guard: "attendee_mails", mails: 1 }] },
    plan: {
      policy: {},
      counts: { odoo: counts(1, 0, 0), microsoft: counts(1, 0, 0), links: 2, forgets: 0, open_conflicts: 0, decided_conflicts: 0, errors: 0, mails: 1 },
      entries: [
        { key: "odoo:12", decision: { odoo: "created", microsoft: "absent", rule: "created in Odoo", mails: [], conflicts: [], error: null,
          ops: [{ op: "create", side: "microsoft", event: { title: "Kick-off with Contoso" } }, { op: "link", event: { title: "Kick-off with Contoso" } }] } },
        { key: "graph:AAMk", decision: { odoo: "absent", microsoft: "created", rule: "created in Outlook", mails: [], conflicts: [], error: null,
          ops: [{ op: "create", side: "odoo", event: { title: "Dentist" } }] } },
      ],
    },
    mails: [["odoo:12", { side: "microsoft", kind: "invitation", recipients: ["bob@contoso.example", "carol@contoso.example"] }]],
    resynced: false,
    skipped_recurring: 0,
    jobs_done: 0,
    jobs_waiting: 0,
    failed: [],
    item_errors: [],
    conflicts_opened: 0,
  },
};

export const synced: SyncResult = {
  ...pausedPlan,
  outcome: "synced",
  summary: "2 writes",
  report: { ...pausedPlan.report, outcome: { outcome: "synced" }, jobs_done: 2 },
};

export const fieldConflict: ConflictView = {
  id: 5,
  kind: "fields",
  link_id: 7,
  open: true,
  created_at: "2026-11-23T09:00:00Z",
  fields: ["title", "location"],
  base: { title: "Standup", location: "Room A" },
  odoo: { title: "Daily", location: "Room B" },
  microsoft: { title: "Scrum", location: "Room C" },
  resolution: null,
  title: "Daily",
};

export const settings: Settings = {
  start_at_login: true,
  language: "en",
  notifications: { conflicts: true, guard_paused: true, sign_in: true, errors: true, teams_meetings: false },
};
