import { render, screen } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import StatusCard from "./StatusCard.svelte";
import { i18n } from "./i18n/index.svelte";
import { profile, status } from "../test/fixtures";
import type { SyncMode } from "./api";

const noop = () => {};

function show(mode: SyncMode, mode_reason: string | null = null) {
  render(StatusCard, {
    profile,
    status: { ...status, mode, mode_reason },
    onsync: noop,
    onpause: noop,
    onresume: noop,
    onsignin: noop,
    onsignout: noop,
    onremove: noop,
  });
  return screen.getByTestId("mode").textContent?.replace(/\s+/g, " ").trim();
}

describe("the profile's status card", () => {
  afterEach(() => {
    i18n.locale = "en";
  });

  it("names each way changes reach the app", () => {
    expect(show("webhook")).toBe("push notification (webhook)");
  });

  it("shows OneDrive's socketIo push apart from polling", () => {
    expect(show("push (socketIo)")).toBe("push notification (OneDrive socketIo)");
  });

  it("shows polling with the reason it fell back", () => {
    expect(show("polling", "Graph refused the socketIo endpoint")).toBe(
      "polling (Graph refused the socketIo endpoint)",
    );
  });

  it("says it in German too", () => {
    i18n.locale = "de";
    expect(show("push (socketIo)")).toBe("Push-Benachrichtigung (OneDrive-socketIo)");
  });
});
