/**
 * The rejections left unhandled while `run` runs, and `settleMs` after it (a read sent ahead fails
 * a tick or a round trip later: vitest would report it as "Errors", exit 1, and a Lambda's Node
 * prints it and by default exits). For tests of code that keeps several reads outstanding.
 */
export async function unhandledDuring(run: () => Promise<void>, settleMs = 100): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await run();
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return unhandled;
}
