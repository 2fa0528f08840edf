import { fireEvent, render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import MainWindow from "./MainWindow.svelte";
import { callsOf, commands } from "../test/tauri";
import { profile, status, synced } from "../test/fixtures";

describe("the main window", () => {
  it("says how to begin when there is no account", async () => {
    commands({ list_profiles: () => [] });
    render(MainWindow);
    expect(await screen.findByTestId("no-profiles")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Add account" })).toBeTruthy();
  });

  it("lists each account with its status", async () => {
    commands({ list_profiles: () => [profile], status: () => status });
    render(MainWindow);
    expect(await screen.findByRole("heading", { name: profile.name })).toBeTruthy();
    expect(callsOf("status")).toEqual([{ profile: profile.id }]);
  });

  it("Sync now syncs that account, shows the result and reads its status again", async () => {
    commands({ list_profiles: () => [profile], status: () => status, sync_now: () => synced });
    render(MainWindow);
    await fireEvent.click(await screen.findByRole("button", { name: "Sync now" }));
    expect(callsOf("sync_now")).toEqual([{ profile: profile.id }]);
    expect((await screen.findByRole("status")).textContent).toBe(`${profile.name}: ${synced.summary}`);
    expect(callsOf("status").length).toBe(2);
  });

  it("sign-out says the linked items are kept", async () => {
    commands({
      list_profiles: () => [profile],
      status: () => status,
      sign_out: () => ({ profile: profile.name, mailbox: "alice@contoso.com", links_kept: 8 }),
    });
    render(MainWindow);
    await fireEvent.click(await screen.findByRole("button", { name: "Sign out of Microsoft" }));
    expect(callsOf("sign_out")).toEqual([{ profile: profile.id }]);
    expect((await screen.findByRole("status")).textContent).toContain("8 linked item(s) are kept");
  });
});
