import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { memberDigest, selectJob } from '../../../core/transfer/class-selection.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const WRAPPER = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';

describe('selecting jobs by class', () => {
  it('takes a job whose routed class is selected (ActiveJob by its wrapped class), leaves the others', () => {
    const classes = new Set(['A', 'W']);
    expect(selectJob(Buffer.from(sidekiqPayload({ className: 'A' })), classes)).toEqual({ take: true, className: 'A' });
    expect(selectJob(Buffer.from(sidekiqPayload({ className: WRAPPER, wrapped: 'W' })), classes)).toEqual({ take: true, className: 'W' });
    expect(selectJob(Buffer.from(sidekiqPayload({ className: WRAPPER, wrapped: 'X' })), new Set([WRAPPER]))).toEqual({ take: false, unparsable: false, queue: 'default' });
    expect(selectJob(Buffer.from(sidekiqPayload({ className: 'B' })), classes)).toEqual({ take: false, unparsable: false, queue: 'default' });
    // The queue a job left where it is names (a set entry's: where the poller pushes it), null when it names none.
    expect(selectJob(Buffer.from('{"class":"B","args":[],"jid":"000000000000000000000001"}'), classes)).toEqual({ take: false, unparsable: false, queue: null });
  });

  it('never takes a payload it cannot read', () => {
    expect(selectJob(Buffer.from('{"class":'), new Set(['A']))).toEqual({ take: false, unparsable: true });
  });

  it('names a member by the SHA-1 of its bytes', () => {
    const member = Buffer.from([0x7b, 0xe9, 0x7d]);
    expect(memberDigest(member)).toBe(createHash('sha1').update(member).digest('hex'));
    expect(memberDigest(Buffer.from('{}'))).toBe('bf21a9e8fbc5a3846fb05b4fa0859e0917b2202f');
  });
});
