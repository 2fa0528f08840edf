import { describe, expect, it } from "vitest";
import { href, parseRoute, type Route } from "./router.svelte";

describe("hash routes", () => {
  it("the conflict popup's address names the profile and the conflict", () => {
    expect(parseRoute("#/conflict/p-1/5")).toEqual({ view: "conflict", profile: "p-1", id: 5 });
    expect(parseRoute("#/conflict/p-1")).toEqual({ view: "conflict", profile: "p-1", id: null });
  });

  it("every route survives a round trip through its address", () => {
    const routes: Route[] = [
      { view: "main" }, { view: "add" }, { view: "settings" },
      { view: "activity", profile: "my work" }, { view: "preview", profile: "p-1" },
      { view: "conflict", profile: "p-1", id: 9 },
    ];
    for (const r of routes) expect(parseRoute(href(r))).toEqual(r);
  });

  it("an unknown or incomplete address shows the main window", () => {
    expect(parseRoute("")).toEqual({ view: "main" });
    expect(parseRoute("#/nowhere")).toEqual({ view: "main" });
    expect(parseRoute("#/activity")).toEqual({ view: "main" });
  });
});
