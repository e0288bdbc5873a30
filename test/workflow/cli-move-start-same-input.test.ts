import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { bufferIo } from '../support/buffer-io.js';
import { FakeStepFunctions, REGION } from '../support/fake-step-functions.js';
import { privateSourceAndTarget } from '../support/private-redis.js';

// `move` and `start --mode transfer` each built the execution input with their own copy of the
// same lines (sets, queues, page size, rate limit, replicas, placement, cron): one changed alone
// would make a deployed transfer do other than the local one given the same options. The input
// each hands on (move: to the local workflow; start: to Step Functions) is compared here.
const captured: Record<string, unknown>[] = [];
vi.mock('../../cli/workflow/run-workflow.js', () => ({
  runWorkflowFromCli: async ({ input }: { input: Record<string, unknown> }) => {
    captured.push(input);
    return 0;
  },
}));

const redis = privateSourceAndTarget();
let fake: FakeStepFunctions;
beforeEach(() => {
  vi.stubEnv('AWS_REGION', REGION);
  fake = new FakeStepFunctions();
  captured.length = 0;
});
afterEach(() => {
  fake.restore();
  vi.unstubAllEnvs();
});

const cli = async (...args: string[]) => {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', ...args], io, undefined, { sleep: fake.sleep, now: fake.now, retryIntervalMs: 0 });
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

describe('move and start --mode transfer: one execution input for the same options', { timeout: 60_000 }, () => {
  const cases: [string, string[]][] = [
    ['every option that reaches the input', ['--sets', 'retry,dead', '--page-size', '50', '--rate-limit', '7', '--from-replicas', '1', '--to-replicas', '2', '--append', '--cron', '--rename', 'old=new', '--dry-run']],
    ['the defaults, --no-queues and a class selection', ['--no-queues', '--classes', 'A,B']],
  ];
  for (const [name, options] of cases) {
    it(name, async () => {
      const moved = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--run-id', 'same-1', ...options);
      const started = await cli('start', '--mode', 'transfer', '--run-id', 'same-1', ...options);

      expect([moved.code, started.code], moved.stderr + started.stderr).toEqual([0, 0]);
      expect(captured).toHaveLength(1);
      // start's own: a request id of each start (a name taken is always refused), and the
      // unmapped setting it always carried (a transfer never reads it: page-step.ts).
      const { startRequest, unmapped, ...deployed } = fake.started[0]!.input as Record<string, unknown>;
      expect(startRequest).toMatch(/^[0-9a-f-]{36}$/);
      expect(unmapped).toBe('leave');
      expect(deployed).toStrictEqual(captured[0]);
    });
  }
});
