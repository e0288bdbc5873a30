/** Where the CLI writes; the real process streams, or buffers in tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (progress bars, colours) or a pipe (plain lines). */
  readonly interactive: boolean;
  /**
   * Whether stderr, where a local run draws its progress, is a terminal too: false when it goes
   * to a file (`2>run.log`), which then gets plain lines rather than cursor moves. Unset: as
   * `interactive`.
   */
  readonly errInteractive?: boolean;
  /** The terminal's width when known (progress and summaries fit it, 80 at most). */
  readonly columns?: number;
}

/**
 * A stream whose reader went away (`| head`, a closed terminal) fails its writes with EPIPE on an
 * 'error' event; unhandled, that killed a run between two pages, its lock held and no summary
 * anywhere. What nobody reads any more is dropped instead, and the run ends as it would have
 * (its exit code says how). Other write errors are not ours to hide.
 */
const broken = new Set<NodeJS.WriteStream>();
function writer(stream: NodeJS.WriteStream): (text: string) => void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    broken.add(stream);
  });
  return (text) => {
    if (!broken.has(stream)) stream.write(text);
  };
}

const writeOut = writer(process.stdout);
const writeErr = writer(process.stderr);

export const processIo: CliIo = {
  out: writeOut,
  err: writeErr,
  interactive: Boolean(process.stdout.isTTY),
  errInteractive: Boolean(process.stderr.isTTY),
  get columns() {
    return process.stdout.isTTY ? process.stdout.columns : undefined;
  },
};
