import { describe, expect, it } from 'vitest';
import { InputError } from '../../../core/errors/input-error.js';
import { assertTransferSafe, evictionWarning } from '../../../core/redis/eviction-policy.js';

describe('what an eviction policy means for a migration', () => {
  it('says nothing for noeviction or an unknown policy', () => {
    expect(evictionWarning('source redis://a', null)).toBeNull();
    expect(evictionWarning('source redis://a', 'noeviction')).toBeNull();
  });

  it('warns that allkeys-* can lose jobs, and that volatile-* only touches keys with a TTL', () => {
    expect(evictionWarning('source redis://a', 'allkeys-lru')).toBe(
      "WARNING: source redis://a has maxmemory-policy allkeys-lru: under memory pressure Redis evicts any key, Sidekiq's queues and sets and a transfer's in-flight jobs and ledgers included, so jobs can be lost. Sidekiq asks for noeviction; set it (ElastiCache: a parameter group) before migrating.",
    );
    expect(evictionWarning('target redis://b', 'volatile-lru')).toBe(
      "WARNING: target redis://b has maxmemory-policy volatile-lru, not noeviction (which Sidekiq asks for): under memory pressure Redis evicts keys that have a TTL. Our run lock and ledgers have none while they matter, so no job is lost or duplicated by it, but Sidekiq's own expiring keys can go; set noeviction.",
    );
    // Only the prefix counts: a policy that merely mentions allkeys is not one.
    expect(evictionWarning('x', 'volatile-allkeys-')).toMatch(/^WARNING: x has maxmemory-policy volatile-allkeys-, not noeviction/);
  });

  it('refuses a transfer where any key can be evicted, and only there', () => {
    expect(() => assertTransferSafe('target redis://b', 'allkeys-random')).toThrow(InputError);
    expect(() => assertTransferSafe('target redis://b', 'allkeys-random')).toThrow(
      "target redis://b has maxmemory-policy allkeys-random: Redis may evict any key under memory pressure, a transfer's in-flight jobs and ledger included, which would lose or duplicate jobs. Set maxmemory-policy to noeviction (as Sidekiq asks) or a volatile-* policy, then run again.",
    );
    for (const policy of [null, 'noeviction', 'volatile-lru', 'volatile-allkeys-']) expect(() => assertTransferSafe('x', policy)).not.toThrow();
  });
});
