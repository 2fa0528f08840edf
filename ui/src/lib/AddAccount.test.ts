import { fireEvent, render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import AddAccount from "./AddAccount.svelte";
import { callsOf, commands, fail } from "../test/tauri";
import { profile } from "../test/fixtures";

const check = { version: "17.0", transport: "json-rpc", user_id: 2, user_name: "Alice Martin", user_login: "alice@acme.example", user_tz: "Europe/Berlin" };

async function type(label: string, value: string) {
  const input = screen.getByLabelText(label) as HTMLInputElement;
  input.value = value;
  await fireEvent.input(input);
}

const next = () => fireEvent.click(screen.getByRole("button", { name: "Next" }));

async function fillAccount() {
  await type("Account name", "work");
  await type("Microsoft tenant", "contoso.onmicrosoft.com");
  await type("Application (client) id", "11111111-2222-3333-4444-555555555555");
  await next();
}

async function fillOdoo() {
  await type("Odoo address", "https://acme.odoo.com");
  await type("Database", "acme");
  await type("Odoo login", "alice@acme.example");
  await type("Odoo API key", "k3y");
}

describe("the add-account wizard", () => {
  it("walks through every step, tests Odoo, saves the profile and signs in with the browser", async () => {
    commands({
      check_odoo: () => check,
      add_profile: () => profile,
      start_sign_in: () => ({ profile: "work", scopes: ["Calendars.ReadWrite"] }),
    });
    render(AddAccount);
    await fillAccount();
    expect(document.activeElement?.textContent).toContain("Step 2 of 5: Odoo");
    await fillOdoo();
    await fireEvent.click(screen.getByRole("button", { name: "Test connection" }));
    expect((await screen.findByTestId("check-ok")).textContent).toBe("Connected to Odoo 17.0 as Alice Martin.");
    await next();
    await fireEvent.click(screen.getByLabelText("Documents (Odoo attachments ↔ OneDrive)"));
    await type("Odoo models whose documents are synced", "project.task, res.partner");
    await fireEvent.click(screen.getByLabelText("Only from Odoo to Microsoft 365"));
    await next();
    await type("Check for changes every (minutes)", "10");
    await type("Public webhook address (optional)", "https://sync.acme.example/hook");
    await next();
    await fireEvent.click(screen.getByRole("button", { name: "Save and sign in with the browser" }));
    expect(await screen.findByRole("heading", { name: "All set" })).toBeTruthy();

    const draft = {
      name: "work", tenant: "contoso.onmicrosoft.com", client_id: "11111111-2222-3333-4444-555555555555",
      odoo_url: "https://acme.odoo.com", odoo_database: "acme", odoo_login: "alice@acme.example",
      graph_url: null, identity_url: null,
    };
    expect(callsOf("check_odoo")).toEqual([{ draft, key: "k3y" }]);
    expect(callsOf("add_profile")).toEqual([{
      draft, key: "k3y",
      options: {
        calendar: true, documents: true, document_models: ["project.task", "res.partner"], direction: "odoo_to_microsoft",
        window_past_days: 30, window_future_days: 365, poll_interval_minutes: 10, webhook_url: "https://sync.acme.example/hook",
      },
    }]);
    expect(callsOf("start_sign_in")).toEqual([{ profile: "p-1" }]);
    expect(screen.getByRole("link", { name: "Review the first sync" }).getAttribute("href")).toBe("#/preview/p-1");
  });

  it("names every missing or malformed field and stays on the step", async () => {
    commands({});
    render(AddAccount);
    await type("Account name", "");
    await type("Application (client) id", "my-app");
    await next();
    const alert = screen.getByRole("alert");
    expect(alert.textContent).toContain("Enter an account name");
    expect(alert.textContent).toContain("The client id looks like");
    expect(document.activeElement).toBe(alert);
    expect(screen.getByLabelText("Account name")).toBeTruthy();
  });

  it("refuses plain http to another machine and asks for the connection test before going on", async () => {
    commands({ check_odoo: () => check });
    render(AddAccount);
    await fillAccount();
    await fillOdoo();
    await type("Odoo address", "http://acme.odoo.com");
    await next();
    expect(screen.getByRole("alert").textContent).toContain("starting with https://");
    await type("Odoo address", "http://localhost:8069");
    await next();
    expect(screen.getByRole("alert").textContent).toBe("Test the connection before going on.");
  });

  it("a refused API key is shown with what to do, and a changed key needs a new test", async () => {
    let refuse = true;
    commands({ check_odoo: () => (refuse ? fail("odoo_key_refused", "Odoo: the API key was refused") : check) });
    render(AddAccount);
    await fillAccount();
    await fillOdoo();
    await fireEvent.click(screen.getByRole("button", { name: "Test connection" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Odoo refused the API key. Enter a new key");
    expect(alert.getAttribute("data-code")).toBe("odoo_key_refused");
    refuse = false;
    await fireEvent.click(screen.getByRole("button", { name: "Test connection" }));
    expect(await screen.findByTestId("check-ok")).toBeTruthy();
    await type("Odoo API key", "another");
    expect(screen.queryByTestId("check-ok")).toBeNull();
  });

  it("going back keeps everything entered", async () => {
    commands({ check_odoo: () => check });
    render(AddAccount);
    await fillAccount();
    await fillOdoo();
    await fireEvent.click(screen.getByRole("button", { name: "Test connection" }));
    await screen.findByTestId("check-ok");
    await next();
    await fireEvent.click(screen.getByRole("button", { name: "Back" }));
    expect((screen.getByLabelText("Database") as HTMLInputElement).value).toBe("acme");
    expect((screen.getByLabelText("Odoo API key") as HTMLInputElement).value).toBe("k3y");
    expect(screen.getByTestId("check-ok")).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Back" }));
    expect((screen.getByLabelText("Account name") as HTMLInputElement).value).toBe("work");
    expect(document.activeElement?.textContent).toContain("Step 1 of 5");
  });

  it("rejects a sync with nothing chosen and a webhook that is not https", async () => {
    commands({ check_odoo: () => check });
    render(AddAccount);
    await fillAccount();
    await fillOdoo();
    await fireEvent.click(screen.getByRole("button", { name: "Test connection" }));
    await screen.findByTestId("check-ok");
    await next();
    await fireEvent.click(screen.getByLabelText("Calendar (Odoo ↔ Outlook)"));
    await next();
    expect(screen.getByRole("alert").textContent).toBe("Choose at least one thing to sync.");
    await fireEvent.click(screen.getByLabelText("Calendar (Odoo ↔ Outlook)"));
    await next();
    await type("Public webhook address (optional)", "http://sync.acme.example/hook");
    await next();
    expect(screen.getByRole("alert").textContent).toBe("The webhook address must start with https://.");
  });

  it("signs in with a device code, showing the address and the code", async () => {
    let finish: (v: unknown) => void = () => {};
    commands({
      check_odoo: () => check,
      add_profile: () => profile,
      start_device_code: () => ({ verification_uri: "https://microsoft.com/devicelogin", user_code: "ABCD-1234", expires_in: 900, message: null }),
      finish_device_code: () => new Promise((r) => (finish = r)),
    });
    render(AddAccount);
    await fillAccount();
    await fillOdoo();
    await fireEvent.click(screen.getByRole("button", { name: "Test connection" }));
    await screen.findByTestId("check-ok");
    await next();
    await next();
    await next();
    await fireEvent.click(screen.getByRole("button", { name: "Sign in with a code instead" }));
    const box = await screen.findByTestId("device-code");
    expect(box.textContent).toContain("https://microsoft.com/devicelogin");
    expect(box.textContent).toContain("ABCD-1234");
    expect(box.textContent).toContain("valid for 15 minutes");
    finish({ profile: "work", scopes: [] });
    expect(await screen.findByRole("heading", { name: "All set" })).toBeTruthy();
    expect(callsOf("add_profile")).toHaveLength(1);
  });

  it("a failed sign-in keeps the saved profile and trying again does not save it twice", async () => {
    let attempt = 0;
    commands({
      check_odoo: () => check,
      add_profile: () => profile,
      start_sign_in: () => (++attempt === 1 ? fail("sign_in_needed", "the sign-in was declined") : { profile: "work", scopes: [] }),
    });
    render(AddAccount);
    await fillAccount();
    await fillOdoo();
    await fireEvent.click(screen.getByRole("button", { name: "Test connection" }));
    await screen.findByTestId("check-ok");
    await next();
    await next();
    await next();
    await fireEvent.click(screen.getByRole("button", { name: "Save and sign in with the browser" }));
    expect((await screen.findByRole("alert")).textContent).toContain("the sign-in was declined");
    await fireEvent.click(screen.getByRole("button", { name: "Save and sign in with the browser" }));
    expect(await screen.findByRole("heading", { name: "All set" })).toBeTruthy();
    expect(callsOf("add_profile")).toHaveLength(1);
    expect(callsOf("start_sign_in")).toHaveLength(2);
  });
  it("sends another Microsoft cloud's addresses with the draft, and refuses a bad one", async () => {
    commands({ check_odoo: () => check });
    render(AddAccount);
    await type("Account name", "work");
    await type("Application (client) id", "11111111-2222-3333-4444-555555555555");
    await type("Microsoft Graph address", "ftp://graph.example");
    await next();
    expect(screen.getByRole("alert").textContent).toContain("A Microsoft address must be a full https:// URL");
    await type("Microsoft Graph address", "http://127.0.0.1:4010/v1.0");
    await type("Microsoft sign-in address", "http://127.0.0.1:4010");
    await next();
    await fillOdoo();
    await fireEvent.click(screen.getByRole("button", { name: "Test connection" }));
    await screen.findByTestId("check-ok");
    expect(callsOf("check_odoo")[0].draft).toMatchObject({
      graph_url: "http://127.0.0.1:4010/v1.0",
      identity_url: "http://127.0.0.1:4010",
    });
  });
});
