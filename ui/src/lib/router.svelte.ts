// Hash routes: the main window loads `index.html#/`, the conflict popup
// `index.html#/conflict/PROFILE/ID` (or `#/conflict/PROFILE` for the first open one).
export type Route =
  | { view: "main" }
  | { view: "add" }
  | { view: "settings" }
  | { view: "activity"; profile: string }
  | { view: "preview"; profile: string }
  | { view: "conflict"; profile: string; id: number | null };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [view, profile, id] = parts;
  switch (view) {
    case "add":
      return { view: "add" };
    case "settings":
      return { view: "settings" };
    case "activity":
    case "preview":
      return profile ? { view, profile } : { view: "main" };
    case "conflict": {
      if (!profile) return { view: "main" };
      const n = id === undefined ? null : Number(id);
      return { view: "conflict", profile, id: n !== null && Number.isInteger(n) ? n : null };
    }
    default:
      return { view: "main" };
  }
}

export function href(route: Route): string {
  switch (route.view) {
    case "main":
      return "#/";
    case "add":
    case "settings":
      return `#/${route.view}`;
    case "activity":
    case "preview":
      return `#/${route.view}/${encodeURIComponent(route.profile)}`;
    case "conflict":
      return `#/conflict/${encodeURIComponent(route.profile)}` + (route.id === null ? "" : `/${route.id}`);
  }
}

const state = $state({ route: parseRoute(typeof location === "undefined" ? "" : location.hash) });

if (typeof window !== "undefined") {
  window.addEventListener("hashchange", () => {
    state.route = parseRoute(location.hash);
  });
}

export const router = {
  get route(): Route {
    return state.route;
  },
  /** Reads the address again (the window was loaded or pointed elsewhere). */
  reload() {
    state.route = parseRoute(location.hash);
  },
  go(route: Route) {
    state.route = route;
    if (location.hash !== href(route)) location.hash = href(route);
  },
};
