import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import App from "./App.svelte";
import { router } from "./lib/router.svelte";
import { callsOf, commands, fail, invoke } from "./test/tauri";
import { fieldConflict, profile, settings, status, synced } from "./test/fixtures";

const base = {
  get_settings: () => settings,
  list_profiles: () => [profile],
  status: () => status,
};

describe("the main window", () => {
  it("invites the user to add an account when there are none", async () => {
    commands({ ...base, list_profiles: () => [] });
    render(App);
    expect(await screen.findByTestId("no-profiles")).toBeTruthy();
    expect(invoke).toHaveBeenCalledWith("list_profiles");
    expect(screen.getByRole("link", { name: "Add account" }).getAttribute("href")).toBe("#/add");
  });

  it("shows each profile with its status: mode, pending changes and open conflicts", async () => {
    commands(base);
    render(App);
    const card = await screen.findByTestId("profile");
    await within(card).findByText("2");
    expect(card.textContent).toContain("alice@acme.example on https://acme.odoo.com (acme)");
    expect(within(card).getByTestId("mode").textContent).toContain("polling");
    expect(within(card).getByTestId("mode").textContent).toContain("the webhook URL did not answer the validation");
    expect(within(card).getByText("1 conflict waits for your decision").getAttribute("href")).toBe("#/conflict/p-1");
    expect(within(card).getByTestId("state").textContent).toContain("Up to date");
    expect(callsOf("status")).toEqual([{ profile: "p-1" }]);
  });

  it("says when Microsoft sign-in is needed and offers to sign in", async () => {
    commands({ ...base, status: () => ({ ...status, sign_in_needed: true, signed_in: false }), start_sign_in: () => ({ profile: "work", scopes: [] }) });
    render(App);
    const alert = await screen.findByText(/Microsoft sign-in needed/);
    expect(alert.closest("[role=alert]")).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(callsOf("start_sign_in")).toEqual([{ profile: "p-1" }]);
    expect(await screen.findByRole("status")).toHaveProperty("textContent", "work is signed in to Microsoft again; sync continues.");
  });

  it("warns when the Odoo API key expires within 7 days, and only then", async () => {
    let soon = false;
    commands({
      ...base,
      status: () => ({ ...status, odoo_key_expiry: { kind: "at", at: "2026-11-27T08:00:00Z" }, odoo_key_expires_soon: soon }),
    });
    const { unmount } = render(App);
    await within(await screen.findByTestId("profile")).findByText("2");
    expect(screen.queryByTestId("key-expiry")).toBeNull();
    unmount();
    soon = true;
    render(App);
    const alert = await screen.findByTestId("key-expiry");
    expect(alert.getAttribute("role")).toBe("alert");
    expect(alert.textContent).toContain("The Odoo API key expires on");
    expect(alert.textContent).toContain("2026");
  });

  it("signs out of Microsoft and says the links are kept; a signed-out profile offers sign-in", async () => {
    let signedIn = true;
    commands({
      ...base,
      status: () => ({ ...status, signed_in: signedIn, sign_in_needed: !signedIn }),
      sign_out: () => { signedIn = false; return { profile: "work", mailbox: "alice@acme.example", links_kept: 42 }; },
    });
    render(App);
    await fireEvent.click(await screen.findByRole("button", { name: "Sign out of Microsoft" }));
    expect(callsOf("sign_out")).toEqual([{ profile: "p-1" }]);
    expect((await screen.findByRole("status")).textContent).toBe(
      "work is signed out of Microsoft; 42 linked item(s) are kept for the next sign-in to the same mailbox.",
    );
    expect(await screen.findByRole("button", { name: "Sign in" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Sign out of Microsoft" })).toBeNull();
  });

  it("the last error of a background run says what happens next, in the person's language", async () => {
    commands({ ...base, status: () => ({ ...status, last_error: { code: "odoo_key_refused", message: "Odoo: 401 unauthorized" } }) });
    render(App);
    const alert = await screen.findByText(/Last error:/);
    expect(alert.getAttribute("role")).toBe("alert");
    expect(alert.getAttribute("data-code")).toBe("odoo_key_refused");
    expect(alert.textContent).toContain("Odoo refused the API key. Enter a new key; sync waits until then.");
    expect(alert.textContent).toContain("(Odoo: 401 unauthorized)");
  });

  it("Sync now runs a cycle and shows its summary", async () => {
    commands({ ...base, sync_now: () => synced });
    render(App);
    await fireEvent.click(await screen.findByRole("button", { name: "Sync now" }));
    expect(callsOf("sync_now")).toEqual([{ profile: "p-1" }]);
    expect((await screen.findByRole("status")).textContent).toBe("work: 2 writes");
  });

  it("a failed Sync now shows what happens next, not just the error text", async () => {
    commands({ ...base, sync_now: () => fail("network", "Microsoft 365: connection reset") });
    render(App);
    await fireEvent.click(await screen.findByRole("button", { name: "Sync now" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("the app tries again by itself");
    expect(alert.textContent).toContain("Microsoft 365: connection reset");
  });

  it("pauses for an hour or until resumed, and a paused profile offers Resume", async () => {
    let paused = false;
    commands({
      ...base,
      status: () => ({ ...status, paused, paused_until: null }),
      pause: () => { paused = true; },
      resume: () => { paused = false; },
    });
    render(App);
    await fireEvent.click(await screen.findByRole("button", { name: "Pause for 1 hour" }));
    expect(callsOf("pause")).toEqual([{ profile: "p-1", minutes: 60 }]);
    await fireEvent.click(await screen.findByRole("button", { name: "Resume" }));
    expect(callsOf("resume")).toEqual([{ profile: "p-1" }]);
    await fireEvent.click(await screen.findByRole("button", { name: "Pause until resumed" }));
    expect(callsOf("pause")[1]).toEqual({ profile: "p-1", minutes: null });
    expect((await screen.findByTestId("state")).textContent).toContain("Paused until resumed");
    expect(screen.getByRole("button", { name: "Sync now" })).toHaveProperty("disabled", true);
  });

  it("removes a profile only after the person confirms", async () => {
    let profiles = [profile];
    commands({ ...base, list_profiles: () => profiles, remove_profile: () => { profiles = []; return profile; } });
    render(App);
    await fireEvent.click(await screen.findByRole("button", { name: "Remove" }));
    expect(callsOf("remove_profile")).toEqual([]);
    const dialog = screen.getByRole("alertdialog");
    expect(dialog.textContent).toContain("nothing is deleted in Odoo or Microsoft 365");
    await fireEvent.click(within(dialog).getByRole("button", { name: "Remove" }));
    expect(callsOf("remove_profile")).toEqual([{ profile: "p-1" }]);
    expect(await screen.findByTestId("no-profiles")).toBeTruthy();
  });

  it("shows the message of a failed command, not a blank window", async () => {
    commands({ ...base, list_profiles: () => fail("storage", "cannot open the sync database") });
    render(App);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("cannot open the sync database");
    expect(alert.getAttribute("data-code")).toBe("storage");
  });

  it("starts in the language of the saved settings", async () => {
    commands({ ...base, get_settings: () => ({ ...settings, language: "de" }) });
    render(App);
    expect(await screen.findByRole("button", { name: "Jetzt synchronisieren" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Konto hinzufügen" })).toBeTruthy();
  });

  it("the popup window's address opens the conflict popup alone", async () => {
    history.replaceState(null, "", "#/conflict/p-1/5");
    router.reload();
    commands({ ...base, conflict: () => fieldConflict });
    const { container } = render(App);
    expect(await screen.findByRole("heading", { name: "Conflict: Daily" })).toBeTruthy();
    expect(container.querySelector("nav")).toBeNull();
    expect(callsOf("conflict")).toEqual([{ profile: "p-1", id: 5 }]);
  });
});
