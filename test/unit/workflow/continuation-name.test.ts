import { describe, expect, it } from 'vitest';
import { continuationExecutionName, MAX_EXECUTION_NAME_LENGTH } from '../../../core/workflow/continuation-name.js';
import { itemContinuationName, listContinuationName } from '../../../core/workflow/run-executions.js';

const start = { runId: 'gitlab.move-2026', plannedAt: 1_790_000_000_000, plannedBy: 'arn:aws:states:eu-west-1:123456789012:execution:sidekiq-migrate:first' };
const item = (name: string, continues?: string) => itemContinuationName({ kind: 'queue', name, ...(continues ? { continues } : {}) });

describe('the name a continuation execution is started under', () => {
  it('is the same for every attempt at starting one continuation', () => {
    expect(continuationExecutionName({ ...start }, 'item', item('default'))).toBe(continuationExecutionName({ ...start }, 'item', item('default')));
  });

  it('differs for every other continuation: another item, the next hop of the same item, the list, another start of the run, another dry run', () => {
    const names = [
      continuationExecutionName(start, 'item', item('default')),
      continuationExecutionName(start, 'item', item('mailers')),
      continuationExecutionName(start, 'item', item('default', 'arn:aws:states:eu-west-1:123456789012:execution:sidekiq-migrate:first/child-1')),
      continuationExecutionName(start, 'list', listContinuationName(3400)),
      continuationExecutionName(start, 'list', listContinuationName(6800)),
      // `start --resume`: a later plan of the same run.
      continuationExecutionName({ ...start, plannedAt: start.plannedAt + 1, plannedBy: 'arn:aws:states:eu-west-1:123456789012:execution:sidekiq-migrate:second' }, 'item', item('default')),
      // Two dry runs of one id (no lock: told apart by their planId).
      continuationExecutionName({ runId: start.runId, planId: 'a' }, 'item', item('default')),
      continuationExecutionName({ runId: start.runId, planId: 'b' }, 'item', item('default')),
      // Run ids that read alike once `.` is `_`.
      continuationExecutionName({ ...start, runId: 'gitlab_move-2026' }, 'item', item('default')),
    ];
    expect(new Set(names).size).toBe(names.length);
  });

  it('is at most 80 characters of letters, digits, "-" and "_", whatever the run id and the item name (any bytes)', () => {
    const longest = continuationExecutionName({ ...start, runId: 'r.'.repeat(40) }, 'item', item('\u00ff\u0000 /:*?'.repeat(100)));
    expect(longest.length).toBeLessThanOrEqual(MAX_EXECUTION_NAME_LENGTH);
    expect(longest).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(continuationExecutionName(start, 'list', listContinuationName(3400))).toMatch(/^gitlab_move-2026-l-[0-9a-f]{32}$/);
  });
});
