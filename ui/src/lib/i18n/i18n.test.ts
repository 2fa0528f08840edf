import { describe, expect, it } from "vitest";
import { catalogues, i18n, t, tn } from "./index.svelte";
import { en } from "./en";
import { de } from "./de";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("the message catalogues", () => {
  it("English and German have exactly the same keys", () => {
    expect(Object.keys(de).sort()).toEqual(Object.keys(en).sort());
  });

  it("no message is empty in either language", () => {
    for (const cat of Object.values(catalogues)) {
      for (const [key, text] of Object.entries(cat)) expect(text.trim(), key).not.toBe("");
    }
  });

  it("each German message uses the same placeholders as its English one", () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(de[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it("German is a translation, not a copy of the English text", () => {
    const same = (Object.keys(en) as (keyof typeof en)[]).filter((k) => en[k] === de[k]);
    // Only names and pure placeholders may read the same in both languages.
    expect(same.sort()).toEqual(
      ["app.title", "main.synced", "side.microsoft", "side.odoo", "side.onedrive", "wizard.step_odoo", "field.name"].sort(),
    );
  });

  it("t fills placeholders and follows the current language", () => {
    expect(t("wizard.connected", { version: "17.0", user: "Alice" })).toBe("Connected to Odoo 17.0 as Alice.");
    i18n.locale = "de";
    expect(t("wizard.connected", { version: "17.0", user: "Alice" })).toBe("Verbunden mit Odoo 17.0 als Alice.");
    expect(document.documentElement.lang).toBe("de");
  });

  it("tn picks the singular for one and the plural otherwise", () => {
    expect(tn("status.conflicts", 1)).toBe("1 conflict waits for your decision");
    expect(tn("status.conflicts", 3)).toBe("3 conflicts wait for your decision");
  });
});
