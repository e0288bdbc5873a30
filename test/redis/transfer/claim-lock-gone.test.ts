// The transfer's claims refuse, before any write, when the run lock is not the run's: gone (the
// run's summary, a stop or a clean-up released it) or another run's past its expiry, whenever the
// caller's generation is known (an execution that planned under the lock): -5, lib/claim-lock.lua
// lockGone. A page task's stale attempt that claims after its run ended then moves nothing
// (test/workflow/stale-claim-after-run-ended.test.ts has the whole story). A caller that names no
// generation (tests, an older version's settings) claims as before; so does the run whose own lock
// is past its expiry (its page's renewal decides).
import { describe, expect, it } from 'vitest';
import { LuaScript, type LuaCall } from '../../../core/redis/lua-script.js';
import { keyValueSnapshot } from '../../support/exact-jobs.js';
import { cases, seed } from '../../support/lua-step-calls.js';
import { privateRedis } from '../../support/private-redis.js';

const server = privateRedis();

/** Where each claim takes its generation (ARGV, 1-based): its header. */
const GENERATION_AT: Record<string, number> = { 'claimQueueJobs-14': 10, 'claimSetEntries-16': 8, 'claimSelectedQueueJobs-11': 5, 'claimSelectedSetEntries-11': 3 };
const claims = cases.filter(([name]) => name in GENERATION_AT);

/** `call` with its generation set to `generation`. */
function withGeneration(name: string, call: LuaCall, generation: string): LuaCall {
  const args = [...(call.args ?? [])];
  args[GENERATION_AT[name]! - 1] = generation;
  return { ...call, args };
}

/** The lock record `seed` writes, for run `runId`, expiring at `expiresAt` (epoch ms). */
const lock = (runId: string, expiresAt: number) => JSON.stringify({ runId, plannedAt: 1000, plannedBy: 'arn', expiresAt });

describe('a claim whose run lock is not the run\'s claims nothing and writes nothing (-5)', () => {
  it('covers every claim script', () => {
    expect([...new Set(claims.map(([name]) => name))].sort()).toEqual(Object.keys(GENERATION_AT).sort());
  });

  const refusals: [string, (() => Promise<unknown>) | null][] = [
    ['the lock is gone', () => server.client().del('lock')],
    ["another run's lock is past its expiry", () => server.client().set('lock', lock('other', Date.now() - 1000))],
  ];
  for (const [name, call] of claims) {
    it.each(refusals)(`${name}: %s → -5, nothing changed`, async (_, change) => {
      await seed(server.client());
      await change!();
      const before = await keyValueSnapshot(server.client(), '');

      const reply = (await new LuaScript(name).run(server.client(), withGeneration(name, call, '1000 arn'))) as unknown[];

      expect(reply[0]).toBe(-5);
      expect(await keyValueSnapshot(server.client(), '')).toEqual(before);
    });

    it(`${name}: the lock gone but the caller names no generation (no lock to lose) → it claims as before`, async () => {
      await seed(server.client());
      await server.client().del('lock');
      const before = await keyValueSnapshot(server.client(), '');

      const reply = (await new LuaScript(name).run(server.client(), withGeneration(name, call, ''))) as unknown[];

      expect(reply[0]).not.toBe(-5);
      expect(Number(reply[0])).toBeGreaterThanOrEqual(0);
      expect(await keyValueSnapshot(server.client(), '')).not.toEqual(before);
    });

    it(`${name}: the run's own lock, past its expiry → it claims (the page's renewal decides)`, async () => {
      await seed(server.client());
      await server.client().set('lock', lock('run', Date.now() - 1000));
      const before = await keyValueSnapshot(server.client(), '');

      const reply = (await new LuaScript(name).run(server.client(), withGeneration(name, call, '1000 arn'))) as unknown[];

      expect(Number(reply[0])).toBeGreaterThanOrEqual(0);
      expect(await keyValueSnapshot(server.client(), '')).not.toEqual(before);
    });
  }
});
