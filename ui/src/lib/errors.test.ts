import { describe, expect, it } from "vitest";
import type { ErrorCode } from "./api";
import { showError } from "./errors";
import { i18n } from "./i18n/index.svelte";

const codes: ErrorCode[] = [
  "invalid_input", "not_found", "sign_in_needed", "odoo_key_refused", "conflicts_pending",
  "guard_tripped", "network", "storage", "keychain", "internal",
];

describe("error codes become messages", () => {
  it("each code has its own sentence, and the service's message is kept as the detail", () => {
    const texts = codes.map((code) => showError({ code, message: "detail " + code }));
    expect(new Set(texts.map((s) => s.text)).size).toBe(codes.length);
    texts.forEach((s, i) => {
      expect(s.code).toBe(codes[i]);
      expect(s.detail).toBe("detail " + codes[i]);
    });
  });

  it("the messages say what happens next", () => {
    expect(showError({ code: "network", message: "" }).text).toContain("tries again by itself");
    expect(showError({ code: "sign_in_needed", message: "" }).text).toContain("waits until you sign in");
    expect(showError({ code: "odoo_key_refused", message: "" }).text).toContain("Enter a new key");
    expect(showError({ code: "guard_tripped", message: "" }).text).toContain("nothing was written");
  });

  it("a Retry-After from the service is shown", () => {
    expect(showError({ code: "network", message: "throttled", retry_after_s: 30 }).text).toContain("wait 30 s");
  });

  it("the sentence follows the language but the code does not change", () => {
    i18n.locale = "de";
    const s = showError({ code: "network", message: "timeout" });
    expect(s.code).toBe("network");
    expect(s.text).toContain("versucht es von selbst erneut");
  });

  it("an error without a known code still shows its text", () => {
    const s = showError(new Error("boom"));
    expect(s.code).toBeNull();
    expect(s.text).toBe("Something went wrong.");
    expect(s.detail).toBe("boom");
    expect(showError({ code: "teapot", message: "odd" }).code).toBeNull();
  });
});
