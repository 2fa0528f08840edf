import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import ActivityView from "./ActivityView.svelte";
import { callsOf, commands, fail } from "../test/tauri";
import { activity, journal, status } from "../test/fixtures";

const failedStatus = { ...status, failed_jobs: [{ id: 77, kind: "graph.update", error: "Microsoft 365: 412 precondition failed" }] };

function base(extra: Record<string, (a: Record<string, unknown>) => unknown> = {}) {
  commands({
    activity: (a) => (a.why ? { ...activity, why: a.why, lines: activity.lines.slice(0, 1) } : activity),
    status: () => failedStatus,
    journal: () => journal,
    ...extra,
  });
}

describe("the activity view", () => {
  it("lists what sync did, where the change came from and why", async () => {
    base();
    render(ActivityView, { profile: "p-1" });
    const rows = await screen.findAllByTestId("activity-line");
    expect(rows).toHaveLength(3);
    expect(rows[0].textContent).toContain("\"Standup\"");
    expect(rows[0].textContent).toContain("update microsoft");
    expect(rows[0].textContent).toContain("Odoo");
    expect(rows[0].textContent).toContain("changed in Odoo only");
    expect(callsOf("activity")).toEqual([{ profile: "p-1", why: null }]);
  });

  it("filters by where the change came from and by text", async () => {
    base();
    render(ActivityView, { profile: "p-1" });
    await screen.findAllByTestId("activity-line");
    const origin = screen.getByLabelText("Changed in") as HTMLSelectElement;
    origin.value = "microsoft";
    await fireEvent.change(origin);
    let rows = screen.getAllByTestId("activity-line");
    expect(rows.map((r) => r.textContent)).toEqual([expect.stringContaining("Budget review")]);
    origin.value = "all";
    await fireEvent.change(origin);
    const search = screen.getByLabelText("Search") as HTMLInputElement;
    search.value = "offsite";
    await fireEvent.input(search);
    rows = screen.getAllByTestId("activity-line");
    expect(rows.map((r) => r.textContent)).toEqual([expect.stringContaining("Offsite")]);
  });

  it("asks for one item's story", async () => {
    base();
    render(ActivityView, { profile: "p-1" });
    await screen.findAllByTestId("activity-line");
    const why = screen.getByLabelText("Why did this item change?") as HTMLInputElement;
    why.value = "odoo:12";
    await fireEvent.input(why);
    await fireEvent.click(screen.getByRole("button", { name: "Show its story" }));
    expect(await screen.findByText("Only the story of odoo:12.")).toBeTruthy();
    expect(callsOf("activity")[1]).toEqual({ profile: "p-1", why: "odoo:12" });
    expect(screen.getAllByTestId("activity-line")).toHaveLength(1);
  });

  it("shows failed changes with their error and retries one on request", async () => {
    base({ retry_job: () => undefined });
    render(ActivityView, { profile: "p-1" });
    const job = await screen.findByTestId("failed-job");
    expect(job.textContent).toContain("412 precondition failed");
    await fireEvent.click(within(job).getByRole("button", { name: "Retry graph.update" }));
    expect(callsOf("retry_job")).toEqual([{ profile: "p-1", job: 77 }]);
    expect((await screen.findByRole("status")).textContent).toBe("Queued again; it runs on the next sync.");
  });

  it("restores a deleted version and says where it was written", async () => {
    base({ restore: () => ({ entry: 11, side: "microsoft", title: "Offsite" }) });
    render(ActivityView, { profile: "p-1" });
    const versions = await screen.findAllByTestId("version");
    expect(versions[0].textContent).toContain("\"Offsite\" in Outlook, deleted");
    expect(within(versions[1]).queryByRole("button")).toBeNull();
    await fireEvent.click(within(versions[0]).getByRole("button", { name: "Restore Offsite" }));
    expect(callsOf("restore")).toEqual([{ profile: "p-1", entry: 11 }]);
    expect((await screen.findByRole("status")).textContent).toBe("\"Offsite\" was written back to Outlook.");
  });

  it("a failed retry is shown with what happens next", async () => {
    base({ retry_job: () => fail("not_found", "no job 77") });
    render(ActivityView, { profile: "p-1" });
    await fireEvent.click(await screen.findByRole("button", { name: "Retry graph.update" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("It no longer exists");
    expect(alert.textContent).toContain("no job 77");
  });
});
