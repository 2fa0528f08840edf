import { render, screen } from "@testing-library/svelte";
import { describe, expect, it, vi, beforeEach } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...args: unknown[]) => invoke(...args) }));

import App from "./App.svelte";

describe("App", () => {
  beforeEach(() => invoke.mockReset());

  it("invites the user to add an account when there are none", async () => {
    invoke.mockResolvedValueOnce([]);
    render(App);
    expect(await screen.findByTestId("no-profiles")).toBeTruthy();
    expect(invoke).toHaveBeenCalledWith("list_profiles");
  });

  it("lists each profile with its Odoo connection", async () => {
    invoke.mockResolvedValueOnce([
      { id: "a", name: "work", tenant: "organizations", client_id: "x", odoo_url: "https://acme.odoo.com",
        odoo_database: "acme", odoo_login: "alice@acme.example", graph_url: "", identity_url: "", created_at: "" },
    ]);
    render(App);
    const items = await screen.findAllByTestId("profile");
    expect(items).toHaveLength(1);
    expect(items[0].textContent).toContain("alice@acme.example on https://acme.odoo.com (acme)");
  });

  it("shows the message of a failed command, not a blank window", async () => {
    invoke.mockRejectedValueOnce({ code: "storage", message: "cannot open the sync database" });
    render(App);
    expect((await screen.findByRole("alert")).textContent).toContain("cannot open the sync database");
  });
});
