import { fireEvent, render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import PreviewView from "./PreviewView.svelte";
import { callsOf, commands, fail } from "../test/tauri";
import { pausedPlan, synced } from "../test/fixtures";

describe("the preview", () => {
  it("shows why sync waits, the planned writes and every attendee who would get a mail", async () => {
    commands({ preview_plan: () => pausedPlan });
    render(PreviewView, { profile: "p-1" });
    expect(await screen.findByText(/This is the first sync of the account/)).toBeTruthy();
    expect(screen.getByText("The plan would send 1 mail to attendees.")).toBeTruthy();
    const mails = screen.getByTestId("mails");
    expect(mails.textContent).toContain("odoo:12: Outlook sends an invitation to bob@contoso.example, carol@contoso.example");
    const entries = screen.getAllByTestId("plan-entry").map((e) => e.textContent);
    expect(entries[0]).toContain("Kick-off with Contoso");
    expect(entries[0]).toContain("create in Outlook");
    expect(entries[0]).not.toContain("link");
    expect(entries[1]).toContain("Dentist");
    expect(entries[1]).toContain("create in Odoo");
    expect(callsOf("preview_plan")).toEqual([{ profile: "p-1" }]);
  });

  it("Apply runs the plan and shows the result", async () => {
    commands({ preview_plan: () => pausedPlan, apply_plan: () => synced });
    render(PreviewView, { profile: "p-1" });
    await fireEvent.click(await screen.findByRole("button", { name: "Apply" }));
    expect(callsOf("apply_plan")).toEqual([{ profile: "p-1" }]);
    expect((await screen.findByTestId("applied")).textContent).toBe("Applied: 2 writes");
    expect(callsOf("cancel_plan")).toEqual([]);
  });

  it("Cancel drops the plan and says nothing was written", async () => {
    commands({ preview_plan: () => pausedPlan, cancel_plan: () => undefined });
    render(PreviewView, { profile: "p-1" });
    await fireEvent.click(await screen.findByRole("button", { name: "Cancel" }));
    expect(callsOf("cancel_plan")).toEqual([{ profile: "p-1" }]);
    expect((await screen.findByTestId("cancelled")).textContent).toContain("nothing was written");
    expect(callsOf("apply_plan")).toEqual([]);
  });

  it("a failed Apply keeps the plan on screen with the error", async () => {
    commands({ preview_plan: () => pausedPlan, apply_plan: () => fail("sign_in_needed", "Microsoft 365: token refused") });
    render(PreviewView, { profile: "p-1" });
    await fireEvent.click(await screen.findByRole("button", { name: "Apply" }));
    expect((await screen.findByRole("alert")).textContent).toContain("waits until you sign in again");
    expect(screen.getByRole("button", { name: "Apply" })).toBeTruthy();
  });

  it("a plan without attendee mails says so", async () => {
    commands({ preview_plan: () => ({ ...pausedPlan, report: { ...pausedPlan.report, mails: [] } }) });
    render(PreviewView, { profile: "p-1" });
    expect(await screen.findByText("No attendee receives a mail from this plan.")).toBeTruthy();
  });
});
