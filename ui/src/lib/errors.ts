// From an error to what a person reads: a sentence per code, in their language, saying
// what happened and what happens next. The service's own message follows as the detail.
import { isAppError, type ErrorCode } from "./api";
import { t, type Key } from "./i18n/index.svelte";

const NEXT: Record<ErrorCode, Key> = {
  invalid_input: "error.invalid_input",
  not_found: "error.not_found",
  sign_in_needed: "error.sign_in_needed",
  odoo_key_refused: "error.odoo_key_refused",
  conflicts_pending: "error.conflicts_pending",
  guard_tripped: "error.guard_tripped",
  network: "error.network",
  busy: "error.busy",
  storage: "error.storage",
  keychain: "error.keychain",
  internal: "error.internal",
};

export interface ShownError {
  code: ErrorCode | null;
  /** What happened and what happens next, in the person's language. */
  text: string;
  /** The service's own words (English), if any. */
  detail: string | null;
}

export function showError(e: unknown): ShownError {
  if (isAppError(e) && e.code in NEXT) {
    let text = t(NEXT[e.code]);
    if (e.retry_after_s) text += " " + t("error.retry_after", { s: e.retry_after_s });
    return { code: e.code, text, detail: e.message || null };
  }
  const detail = e instanceof Error ? e.message : isAppError(e) ? e.message : String(e);
  return { code: null, text: t("error.unknown"), detail };
}
