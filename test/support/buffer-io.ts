import type { CliIo } from '../../cli/cli-io.js';

/** A CliIo that records what the CLI writes, for assertions. */
export function bufferIo(interactive = false): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    interactive,
    stdout: () => out,
    stderr: () => err,
  };
}
