import { fireEvent, render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import Settings from "./Settings.svelte";
import { i18n } from "./i18n/index.svelte";
import { callsOf, commands, fail } from "../test/tauri";
import { settings } from "../test/fixtures";

describe("the settings view", () => {
  it("shows the saved settings as labelled controls", async () => {
    commands({ get_settings: () => settings });
    render(Settings);
    expect(((await screen.findByLabelText("Start when I log in")) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByLabelText("Language") as HTMLSelectElement).value).toBe("en");
    expect((screen.getByLabelText("a Teams meeting was created") as HTMLInputElement).checked).toBe(false);
  });

  it("saves what was changed", async () => {
    commands({ get_settings: () => settings, set_settings: (a) => a.settings });
    render(Settings);
    await fireEvent.click(await screen.findByLabelText("Start when I log in"));
    await fireEvent.click(screen.getByLabelText("a Teams meeting was created"));
    await fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(callsOf("set_settings")).toEqual([
      { settings: { ...settings, start_at_login: false, notifications: { ...settings.notifications, teams_meetings: true } } },
    ]);
    expect((await screen.findByRole("status")).textContent).toBe("Saved.");
  });

  it("switching the language to German changes the view at once and saves it", async () => {
    commands({ get_settings: () => settings, set_settings: (a) => a.settings });
    render(Settings);
    const select = (await screen.findByLabelText("Language")) as HTMLSelectElement;
    select.value = "de";
    await fireEvent.change(select);
    expect(i18n.locale).toBe("de");
    expect(await screen.findByRole("heading", { name: "Einstellungen" })).toBeTruthy();
    expect(screen.getByLabelText("Bei der Anmeldung am Computer starten")).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Speichern" }));
    expect(callsOf("set_settings")[0]).toMatchObject({ settings: { language: "de" } });
  });

  it("a settings file that cannot be read is shown as an error", async () => {
    commands({ get_settings: () => fail("storage", "settings.json is not valid") });
    render(Settings);
    expect((await screen.findByRole("alert")).textContent).toContain("settings.json is not valid");
  });
});
