/**
 * Polls `condition` until it holds (returns something other than false/undefined), then returns
 * that value; throws naming `what` after `timeoutMs`. Tests wait for an observable event with
 * this instead of sleeping a fixed time and hoping it happened.
 */
export async function waitUntil<T>(what: string, condition: () => Promise<T | false | undefined> | T | false | undefined, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const value = await condition();
    if (value !== false && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 10));
  }
}
