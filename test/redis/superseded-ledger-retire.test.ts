import { describe, expect, it } from 'vitest';
import { ledgerKey } from '../../core/transfer/transfer-keys.js';
import { addUpStep } from '../../core/workflow/steps/add-up-step.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { planStep, type PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { summarizeStep } from '../../core/workflow/steps/summarize-step.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { faultAt } from '../support/fault-at-script.js';
import { interfereWithConnections } from '../support/interfering-redis.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { finishItem, seedSupersededRun, SUPERSEDED_BUDGET, SUPERSEDED_TRANSFER } from '../support/superseded-run.js';
import { connectionsPerTest } from '../support/test-connections.js';

/**
 * audit-supersede: an execution's add-up looks for a superseding plan, then retires the ledgers of
 * the items that ended (add-up-step.ts retireEndedLedgers). A later start (`start --resume`) that
 * plans between the two, and claims and copies a batch of the same queue, writes the same ledger
 * (a ledger is the run's: `<run>:ledger:<source key>`). The ledger is what a resume of that batch
 * reads to write nothing twice (copy-kept.ts, resume-inflight.ts): given a TTL while it records the
 * batch in flight, eviction (volatile-*) could take it and the resume write the batch again.
 *
 * The retirement does not go by the lock: its three steps (retire-ledger.ts, retireLedger-4.lua)
 * give the TTL only when the source has nothing of the run in flight for that key and the ledger
 * is unchanged since its look, and each copy takes any TTL off in the same step as it records its
 * batch. So wherever the later start comes in among the add-up's calls, its ledger, recording its
 * batch in flight, has no TTL at the end; and the later start then ends with every job once.
 */
const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);

const B_ARN = 'arn:aws:states:eu-west-1:111122223333:execution:sidekiq-migrate:run-1-resumed';
const LEDGER = ledgerKey('', 'run-1', 'queue:default');

describe("a later start planned between a superseded add-up's look for it and its retirement of the ended items' ledgers", () => {
  it('leaves the ledger the later start writes, its batch in flight, without a TTL, whichever call it comes before; every job once', async () => {
    let tried = 0;
    for (let at = 0; ; at++) {
      await Promise.all([redis.source().flushall(), redis.target().flushall()]);
      const seeded = await seedSupersededRun(redis.source());
      const provider = connect();
      // A: planned, its queue item paged to its end (its ledger written, nothing in flight).
      const a = await planStep(SUPERSEDED_TRANSFER, provider);
      const queueA = await finishItem(a, a.work.batch.find((i) => i.kind === 'queue')!, provider);
      // Its pass's end gave its ledger the TTL already (retireBeforePassEnd): the add-up's retirement
      // is there for a pass killed between its last acknowledge and that, which left the ledger
      // without one (and named in the target's index of ledgers), as here. Else the add-up's look
      // finds the TTL and makes no other call.
      await redis.target().persist(LEDGER);
      await redis.target().sadd('sidekiq-migrate:ledgers', LEDGER);
      // A producer pushes more onto the queue: the later start has a batch of it to claim.
      const late = Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${200 + i}]` }));
      for (const payload of late) await redis.source().lpush('queue:default', payload);
      await new Promise((resolve) => setTimeout(resolve, 5));

      // Before A's add-up call `at` (on either Redis): B plans, claims and copies a batch of the
      // queue, and its acknowledge never runs (its task's answer lost): the batch stays in flight.
      let b: PlanOutput | undefined;
      let calls = 0;
      const plain = connect();
      const interfering = interfereWithConnections(connect(), async () => {
        if (calls++ !== at || b) return;
        b = await planStep(SUPERSEDED_TRANSFER, plain, { executionArn: B_ARN });
        const lost = faultAt(plain, 'source', 'acknowledgeQueueBatch-4', 1, () => Promise.reject(new Error('reply lost')));
        await expect(pageStep({ settings: b.settings, item: b.work.batch.find((i) => i.kind === 'queue')! }, lost, { ...SUPERSEDED_BUDGET, maxPages: 1 })).rejects.toThrow('reply lost');
        expect(lost.faults()).toBe(1);
      });
      const results = [{ kind: queueA.kind, name: queueA.name, counters: queueA.counters! }];
      await addUpStep({ settings: a.settings, work: { ...a.work, next: null, more: false }, results }, interfering);
      await interfering.close();
      if (!b) {
        // After A's last call: A retired its own ledger (nothing in flight, no later start).
        expect(await redis.target().pttl(LEDGER)).toBeGreaterThan(0);
        await provider.close();
        await plain.close();
        break;
      }
      tried++;
      const where = `B came before A's add-up call ${at}`;
      // The end of the race: B's ledger records its batch in flight, with no TTL.
      expect(await redis.source().exists('sidekiq-migrate:run-1:inflight:queue:default'), where).toBe(1);
      expect(await redis.target().pttl(LEDGER), where).toBe(-1);
      expect(await redis.target().smembers('sidekiq-migrate:ledgers'), where).toContain(LEDGER);

      // B goes on (its queue item resumed: the batch in flight acknowledged, not written again) to its end.
      const items: WorkItem[] = [];
      for (const item of b.work.batch) items.push(await finishItem(b, item, plain));
      const addedUp = await addUpStep({ settings: b.settings, work: b.work, results: items.map((i) => ({ kind: i.kind, name: i.name, counters: i.counters! })) }, plain);
      const summary = await summarizeStep({ settings: b.settings, execution: b.execution, tally: addedUp.tally }, plain);
      expect(summary, where).toMatchObject({ releasedLock: true, complete: true });
      expect(await jobsIn(redis.source()), where).toEqual([]);
      expect(await jobsIn(redis.target()), where).toEqual([...seeded, ...late.map((p) => jobEntry('queue:default', p))].sort());
      await provider.close();
      await plain.close();
    }
    // At least B before A's look for it, and before each of the retirement's three calls.
    expect(tried).toBeGreaterThanOrEqual(4);
  });
});
