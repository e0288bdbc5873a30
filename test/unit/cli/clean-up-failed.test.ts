import { describe, expect, it } from 'vitest';
import { cleanUpFailedNotice } from '../../../cli/workflow/clean-up-failed.js';
import type { LocalExecution } from '../../../infra/local/run-workflow-locally.js';

const failed = (error: { name: string; message: string }): LocalExecution[] => [{ executionArn: 'arn:local:1', status: 'FAILED', error: { name: 'RetryableError', message: 'x' }, cleanUp: { error } }];
const now = Date.parse('2026-12-06T01:00:00Z');

describe('the notice of a clean-up that failed after a failed local run', () => {
  it('says the lock of both ends may stay when the clean-up did nothing', () => {
    expect(cleanUpFailedNotice(failed({ name: 'RedisUnavailableError', message: 'Connection is closed.' }), 'redis://a → redis://b', now)).toBe(
      "The clean-up after the failure failed too (Connection is closed.): the run's lock on redis://a → redis://b may stay until it expires, by 01:20:00 UTC; until then, the same command run again on this machine resumes the run at once; from another machine it is refused as locked.",
    );
  });

  it("says only the target's lock may stay when the clean-up stopped the run on the source (TargetNotReachedError)", () => {
    const message = 'Cannot connect to target redis://b: connect ECONNREFUSED\nThe run r is stopped on the source redis://a (stop marker set, run lock released): …';
    expect(cleanUpFailedNotice(failed({ name: 'TargetNotReachedError', message }), 'redis://a → redis://b', now)).toBe(
      `The clean-up after the failure reached the source only (${message}): the run's lock on the target may stay until it expires, by 01:20:00 UTC; until then, the same command run again on this machine resumes the run at once (once the target answers); from another machine it is refused as locked.`,
    );
  });

  it("says only the source's lock may stay when the clean-up stopped the run on the target (SourceNotReachedError)", () => {
    const message = 'Cannot connect to source redis://a: connect ECONNREFUSED\nThe run r is stopped on the target redis://b (stop marker set, run lock released): …';
    expect(cleanUpFailedNotice(failed({ name: 'SourceNotReachedError', message }), 'redis://a → redis://b', now)).toBe(
      `The clean-up after the failure reached the target only (${message}): the run's lock on the source may stay until it expires, by 01:20:00 UTC; until then, the same command run again on this machine resumes the run at once (once the source answers); from another machine it is refused as locked.`,
    );
  });
});
