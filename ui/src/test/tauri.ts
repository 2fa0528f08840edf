import { vi } from "vitest";

/** The mocked Tauri `invoke`: `(command, args) => Promise`. */
export const invoke = vi.fn();

type Handler = (args: Record<string, unknown>) => unknown;

/** Answers each command with its handler; an unexpected command fails the call loudly. */
export function commands(handlers: Record<string, Handler>) {
  invoke.mockImplementation(async (cmd: string, args: Record<string, unknown> = {}) => {
    const h = handlers[cmd];
    if (!h) throw new Error(`unexpected command ${cmd}`);
    return h(args);
  });
}

/** The calls made to one command, as their argument objects. */
export function callsOf(cmd: string): Record<string, unknown>[] {
  return invoke.mock.calls.filter((c) => c[0] === cmd).map((c) => (c[1] ?? {}) as Record<string, unknown>);
}

/** Throws what a failing command rejects with. */
export function fail(code: string, message: string): never {
  throw { code, message };
}
