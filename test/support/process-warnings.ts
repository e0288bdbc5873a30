/**
 * The warnings Node emits in this process from now until `stop()` ("MaxListenersExceededWarning:
 * Possible EventEmitter memory leak detected. 11 close listeners added to [Commander]…"), as
 * "name: message". `stop()` waits a turn first: Node emits them on the next tick.
 */
export function processWarnings(): { stop: () => Promise<string[]> } {
  const seen: string[] = [];
  const onWarning = (warning: Error) => void seen.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  return {
    stop: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      process.off('warning', onWarning);
      return seen;
    },
  };
}
