// The branches of Ctrl-C that the child-process test (test/workflow/cli-interrupt.test.ts) cannot
// time: a signal while the plan still runs quits at once, as it does in a dry run, since a stop
// marker set then would be lifted by the plan itself (a new execution resumes a stopped run).
import { describe, expect, it } from 'vitest';
import { stopOnInterrupt } from '../../../cli/workflow/stop-on-interrupt.js';
import type { ConnectionProvider } from '../../../core/workflow/connections.js';
import { bufferIo } from '../../support/buffer-io.js';

const noConnections: ConnectionProvider = {
  get: () => Promise.reject(new Error('no connection may be opened')),
} as unknown as ConnectionProvider;

function signalled(input: Record<string, unknown>, planned: boolean): { quits: number[]; stderr: string } {
  const io = bufferIo();
  const quits: number[] = [];
  const handlers = stopOnInterrupt({ input, connections: noConnections }, io, () => planned, (code) => quits.push(code));
  try {
    process.emit('SIGINT', 'SIGINT');
  } finally {
    handlers.remove();
  }
  return { quits, stderr: io.stderr() };
}

describe('Ctrl-C before anything can be stopped', () => {
  it('while planning: quits at once, saying nothing is lost', () => {
    expect(signalled({ runId: 'r1', mode: 'transfer', target: 'target' }, false)).toEqual({
      quits: [130],
      stderr: '\nSIGINT while planning: quitting now. Nothing is lost: run the same command again.\n',
    });
  });

  it('in a dry run: quits at once, having written nothing', () => {
    expect(signalled({ runId: 'r1', mode: 'reroute', dryRun: true }, true)).toEqual({ quits: [130], stderr: '\nSIGINT: quitting the dry run; it wrote nothing.\n' });
  });

  it('removes its handlers', () => {
    const before = process.listenerCount('SIGINT');
    stopOnInterrupt({ input: { runId: 'r1' }, connections: noConnections }, bufferIo(), () => true, () => {}).remove();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
