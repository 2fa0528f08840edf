import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import ConflictPopup from "./ConflictPopup.svelte";
import { callsOf, commands, fail } from "../test/tauri";
import { fieldConflict } from "../test/fixtures";

const resolved = { ...fieldConflict, open: false };

describe("the conflict popup", () => {
  it("shows the base, Odoo's and Outlook's value field by field", async () => {
    commands({ conflict: () => fieldConflict });
    render(ConflictPopup, { profile: "p-1", id: 5 });
    const rows = await screen.findAllByTestId("field-row");
    expect(rows.map((r) => [...r.children].map((c) => c.textContent?.trim()))).toEqual([
      ["Title", "Standup", "Daily", "Scrum"],
      ["Location", "Room A", "Room B", "Room C"],
    ]);
  });

  it("times and attendees read as a person would say them, and the title gets the focus", async () => {
    const c = {
      ...fieldConflict,
      fields: ["when", "attendees"],
      base: { when: { kind: "all_day", start: "2026-11-23", end: "2026-11-24" }, attendees: [] },
      odoo: { when: { kind: "timed", start: "2026-11-23T09:00:00Z", end: "2026-11-23T09:30:00Z" }, attendees: [{ email: "bob@contoso.example", response: "accepted" }] },
      microsoft: { when: { kind: "timed", start: "2026-11-23T10:00:00Z", end: "2026-11-23T10:30:00Z" }, attendees: [{ email: "bob@contoso.example", response: "accepted" }, { email: "carol@contoso.example", response: "needs_action" }] },
    };
    commands({ conflict: () => c });
    render(ConflictPopup, { profile: "p-1", id: 5 });
    const rows = await screen.findAllByTestId("field-row");
    expect(rows[0].children[0].textContent).toBe("Time");
    expect(rows[0].children[1].textContent).toBe("all day, 2026-11-23 to 2026-11-24 (end excluded)");
    expect(rows[0].children[2].textContent).toMatch(/23 Nov 2026.*–.*23 Nov 2026/);
    expect(rows[0].children[2].textContent).not.toContain("T09:00");
    expect(rows[1].children[1].textContent).toBe("(empty)");
    expect(rows[1].children[3].textContent?.trim()).toBe("bob@contoso.example, carol@contoso.example");
    await waitFor(() => expect(document.activeElement).toBe(screen.getByRole("heading", { name: "Conflict: Daily" })));
  });

  it("a choice per field produces a resolution naming each field's side", async () => {
    commands({ conflict: () => fieldConflict, resolve_conflict: () => resolved });
    render(ConflictPopup, { profile: "p-1", id: 5 });
    await fireEvent.click(await screen.findByLabelText("Keep Title from Outlook"));
    await fireEvent.click(screen.getByLabelText("Keep Location from Odoo"));
    await fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    expect(callsOf("resolve_conflict")).toEqual([
      { profile: "p-1", id: 5, resolution: { fields: { title: "microsoft", location: "odoo" } } },
    ]);
    expect((await screen.findByTestId("resolved")).textContent).toContain("queued");
  });

  it("a field left without a choice is named and nothing is sent", async () => {
    commands({ conflict: () => fieldConflict });
    render(ConflictPopup, { profile: "p-1", id: 5 });
    await fireEvent.click(await screen.findByLabelText("Keep Title from Odoo"));
    await fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    expect(screen.getByRole("alert").textContent).toBe("Choose a side for: Location.");
    expect(callsOf("resolve_conflict")).toEqual([]);
  });

  it("choosing a whole side keeps that side's version", async () => {
    commands({ conflict: () => fieldConflict, resolve_conflict: () => resolved });
    render(ConflictPopup, { profile: "p-1", id: 5 });
    await fireEvent.click(await screen.findByLabelText("Keep Outlook's version"));
    expect((screen.getByLabelText("Keep Location from Outlook") as HTMLInputElement).checked).toBe(true);
    await fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    expect(callsOf("resolve_conflict")[0]).toEqual({ profile: "p-1", id: 5, resolution: { keep: "microsoft" } });
  });

  it("changing one field after choosing a side sends per-field choices", async () => {
    commands({ conflict: () => fieldConflict, resolve_conflict: () => resolved });
    render(ConflictPopup, { profile: "p-1", id: 5 });
    await fireEvent.click(await screen.findByLabelText("Keep Odoo's version"));
    await fireEvent.click(screen.getByLabelText("Keep Location from Outlook"));
    await fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    expect(callsOf("resolve_conflict")[0]).toMatchObject({ resolution: { fields: { title: "odoo", location: "microsoft" } } });
  });

  it("an edit-versus-delete conflict offers only whole sides", async () => {
    const evd = { ...fieldConflict, kind: "edit_vs_delete", fields: [], odoo: null, base: null, microsoft: { title: "Offsite" }, title: "Offsite" };
    commands({ conflict: () => evd, resolve_conflict: () => ({ ...evd, open: false }) });
    render(ConflictPopup, { profile: "p-1", id: 5 });
    expect(await screen.findByText("(deleted)")).toBeTruthy();
    expect(screen.queryAllByTestId("field-row")).toHaveLength(0);
    await fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    expect(screen.getByRole("alert").textContent).toBe("Choose what to keep.");
    await fireEvent.click(screen.getByLabelText("Keep Odoo's version"));
    await fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    expect(callsOf("resolve_conflict")).toEqual([{ profile: "p-1", id: 5, resolution: { keep: "odoo" } }]);
  });

  it("a file conflict can keep both copies", async () => {
    const file = { ...fieldConflict, kind: "file", fields: [], base: null, odoo: { name: "Offer.docx" }, microsoft: { name: "Offer.docx" }, title: null };
    commands({ conflict: () => file, resolve_conflict: () => ({ ...file, open: false }) });
    render(ConflictPopup, { profile: "p-1", id: 5 });
    await fireEvent.click(await screen.findByLabelText("Keep both (Odoo's version stays as the dated conflict copy, in Odoo and in OneDrive)"));
    await fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    expect(callsOf("resolve_conflict")).toEqual([{ profile: "p-1", id: 5, resolution: "keep_both" }]);
  });

  it("Escape closes the popup without deciding", async () => {
    commands({ conflict: () => fieldConflict });
    const onclose = vi.fn();
    render(ConflictPopup, { profile: "p-1", id: 5, onclose });
    await screen.findAllByTestId("field-row");
    await fireEvent.keyDown(window, { key: "Escape" });
    expect(onclose).toHaveBeenCalledOnce();
    expect(callsOf("resolve_conflict")).toEqual([]);
  });

  it("the choices are radio buttons, reachable by keyboard and grouped by field", async () => {
    commands({ conflict: () => fieldConflict });
    render(ConflictPopup, { profile: "p-1", id: 5 });
    const a = (await screen.findByLabelText("Keep Title from Odoo")) as HTMLInputElement;
    const b = screen.getByLabelText("Keep Title from Outlook") as HTMLInputElement;
    expect(a.type).toBe("radio");
    expect(a.name).toBe(b.name);
    expect(a.name).not.toBe((screen.getByLabelText("Keep Location from Odoo") as HTMLInputElement).name);
    expect(a.tabIndex).toBe(0);
  });

  it("without an id it shows the first open conflict of the profile", async () => {
    commands({ conflicts: () => [fieldConflict] });
    render(ConflictPopup, { profile: "p-1", id: null });
    expect(await screen.findByRole("heading", { name: "Conflict: Daily" })).toBeTruthy();
    expect(callsOf("conflicts")).toEqual([{ profile: "p-1" }]);
  });

  it("a refused resolution is shown and the choices stay", async () => {
    commands({ conflict: () => fieldConflict, resolve_conflict: () => fail("invalid_input", "conflict 5 is already resolved; nothing was changed") });
    render(ConflictPopup, { profile: "p-1", id: 5 });
    await fireEvent.click(await screen.findByLabelText("Keep Odoo's version"));
    await fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    expect((await screen.findByRole("alert")).textContent).toContain("already resolved");
    expect((screen.getByLabelText("Keep Odoo's version") as HTMLInputElement).checked).toBe(true);
  });
});
