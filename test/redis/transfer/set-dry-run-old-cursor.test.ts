// A transfer's dry run of a set carried on from a cursor the previous version wrote (no `at`, only
// `claimed`: the rank it had read to), as an execution running while the new code is deployed
// hands its next slice: the slice goes on from that rank, as that version would have, not from the
// set's start (which counted the entries already counted again, and the last ones never).
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { transferSetSlice, type SetTransferCursor } from '../../../core/transfer/set-transfer.js';
import { keyValueSnapshot } from '../../support/exact-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const job = (name: string, className: string) => sidekiqPayload({ className, queue: 'default', args: `["${name}"]`, jid: Buffer.from(name.padEnd(12, '.')).toString('hex') });

describe("a set's dry run carried on from the previous version's cursor", () => {
  it('counts the entries after the rank it had reached, each once, and ends at the set start size', async () => {
    // e0, e1 (class A: rerouted to x) counted by the previous version; e2..e5 (class C: no destination) not yet.
    const names = ['e0', 'e1', 'e2', 'e3', 'e4', 'e5'];
    for (const [i, n] of names.entries()) await redis.source().zadd('schedule', `${1795462903 + i}.5`, job(n, i < 2 ? 'A' : 'C'));
    const plan = classRoutingPlan(new Map([['A', 'x']]));
    const before = await keyValueSnapshot(redis.source());
    // As the previous version wrote it, through Step Functions' JSON.
    let cursor = JSON.parse(JSON.stringify({ limit: 6, claimed: 2, bytesPerJob: 150 })) as SetTransferCursor;
    const counted = { rerouted: 0, unmapped: 0, claimed: 0 };
    for (let n = 0; n < 10; n++) {
      const r = await transferSetSlice({ source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'old', dryRun: true, sliceSize: 2, set: 'schedule', cursor, plan });
      const c = r.counters as unknown as Record<string, number>;
      counted.rerouted += c.rerouted ?? 0;
      counted.unmapped += c.unmapped ?? 0;
      counted.claimed += c.claimed ?? 0;
      cursor = JSON.parse(JSON.stringify(r.cursor)) as SetTransferCursor;
      if (r.done) break;
    }
    expect(counted).toEqual({ rerouted: 0, unmapped: 4, claimed: 4 });
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
  });
});
