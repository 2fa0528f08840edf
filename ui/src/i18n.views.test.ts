// Every view, rendered from realistic data in English and then in German: no raw message
// key is ever shown, every English message on screen is replaced, and every input has a label.
import { render, screen } from "@testing-library/svelte";
import { tick } from "svelte";
import { describe, expect, it } from "vitest";
import type { Component } from "svelte";
import App from "./App.svelte";
import AddAccount from "./lib/AddAccount.svelte";
import ActivityView from "./lib/ActivityView.svelte";
import PreviewView from "./lib/PreviewView.svelte";
import ConflictPopup from "./lib/ConflictPopup.svelte";
import Settings from "./lib/Settings.svelte";
import { i18n } from "./lib/i18n/index.svelte";
import { en } from "./lib/i18n/en";
import { de } from "./lib/i18n/de";
import { commands } from "./test/tauri";
import { activity, fieldConflict, journal, pausedPlan, profile, settings, status } from "./test/fixtures";

const data = {
  get_settings: () => settings,
  list_profiles: () => [profile],
  status: () => ({ ...status, sign_in_needed: true, failed_jobs: [{ id: 1, kind: "graph.update", error: "x" }], plan_waiting_for_confirmation: true }),
  activity: () => activity,
  journal: () => journal,
  preview_plan: () => pausedPlan,
  conflict: () => fieldConflict,
};

const views: [string, Component<any>, Record<string, unknown>, string][] = [
  ["main window", App, {}, "profile"],
  ["wizard", AddAccount, {}, ""],
  ["activity", ActivityView, { profile: "p-1" }, "activity-line"],
  ["preview", PreviewView, { profile: "p-1" }, "plan-entry"],
  ["conflict popup", ConflictPopup, { profile: "p-1", id: 5 }, "field-row"],
  ["settings", Settings, {}, ""],
];

/** The English messages (without placeholders) that differ in German and do not occur
 *  inside a German message ("Sync" is part of "Odoo365 Sync" in both). */
const translatable = (Object.keys(en) as (keyof typeof en)[])
  .filter((k) => en[k] !== de[k])
  .map((k) => en[k])
  .filter((s) => !s.includes("{") && !Object.values(de).some((d) => d.includes(s)));

async function show(view: Component<Record<string, unknown>>, props: Record<string, unknown>, ready: string) {
  commands(data);
  const r = render(view, { props });
  if (ready) await screen.findAllByTestId(ready);
  else await screen.findAllByRole("button");
  await tick();
  return r;
}

/** All text a person can see or hear: text nodes plus labels, titles and placeholders. */
function visibleText(root: HTMLElement): string {
  const attrs = [...root.querySelectorAll("[aria-label],[placeholder],[title]")].map((e) =>
    ["aria-label", "placeholder", "title"].map((a) => e.getAttribute(a) ?? "").join(" "),
  );
  return root.textContent + " " + attrs.join(" ");
}

describe("every view in both languages", () => {
  for (const [name, view, props, ready] of views) {
    it(`the ${name} never shows a raw message key`, async () => {
      for (const lang of ["en", "de"] as const) {
        i18n.locale = lang;
        const { container, unmount } = await show(view, props, ready);
        const text = visibleText(container);
        for (const key of Object.keys(en)) expect(text, `${lang}: ${key}`).not.toContain(key);
        unmount();
      }
    });

    it(`switching to German replaces every English string of the ${name}`, async () => {
      const { container } = await show(view, props, ready);
      const before = visibleText(container);
      const shownInEnglish = translatable.filter((s) => before.includes(s));
      expect(shownInEnglish.length).toBeGreaterThan(3);
      i18n.locale = "de";
      await tick();
      const after = visibleText(container);
      for (const s of shownInEnglish) expect(after, s).not.toContain(s);
    });

    it(`every input of the ${name} has a label`, async () => {
      const { container } = await show(view, props, ready);
      for (const input of container.querySelectorAll("input, select, textarea")) {
        const id = input.getAttribute("id");
        const labelled =
          input.closest("label") !== null ||
          input.hasAttribute("aria-label") ||
          (id !== null && container.querySelector(`label[for="${id}"]`) !== null);
        expect(labelled, input.outerHTML).toBe(true);
      }
    });
  }
});
