// Every test talks to a mocked `invoke`, starts in English on the main route, and gets a
// clean document.
import { cleanup } from "@testing-library/svelte";
import { afterEach, beforeEach, vi } from "vitest";
import { invoke } from "./tauri";
import { i18n } from "../lib/i18n/index.svelte";
import { router } from "../lib/router.svelte";

vi.mock("@tauri-apps/api/core", () => ({ invoke: (...args: unknown[]) => invoke(...args) }));

beforeEach(() => {
  invoke.mockReset();
  i18n.locale = "en";
});

afterEach(() => {
  cleanup();
  history.replaceState(null, "", "#/");
  router.reload();
});
