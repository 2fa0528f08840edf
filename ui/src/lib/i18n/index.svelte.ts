// The message catalogues and `t`: every visible string of the windows comes from here.
// `de` is typed against `en`, so a key missing in either fails `npm run check`.
import type { Language } from "../api";
import { en, type Key } from "./en";
import { de } from "./de";

export type { Key };
export const catalogues: Record<Language, Record<Key, string>> = { en, de };
export const languages: Language[] = ["en", "de"];

const state = $state({ locale: "en" as Language });

export const i18n = {
  get locale(): Language {
    return state.locale;
  },
  set locale(l: Language) {
    state.locale = l;
    if (typeof document !== "undefined") document.documentElement.lang = l;
  },
};

export type Params = Record<string, string | number>;

/** The message `key` in the current language, with `{name}` placeholders filled in. */
export function t(key: Key, params: Params = {}): string {
  const text = catalogues[state.locale][key] ?? catalogues.en[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

type Plural<K> = K extends `${infer B}_one` ? B : never;

/** `t` for a count: picks `base_one` or `base_other` and passes `n`. */
export function tn(base: Plural<Key>, n: number, params: Params = {}): string {
  return t(`${base}_${n === 1 ? "one" : "other"}` as Key, { ...params, n });
}

/** A date and time in the current language, or the "never" text for null. */
export function when(iso: string | null): string {
  if (!iso) return t("common.never");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(state.locale === "de" ? "de-DE" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "short",
  }).format(d);
}
