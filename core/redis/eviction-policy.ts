import type { Redis } from 'ioredis';
import { InputError } from '../errors/input-error.js';

/**
 * A Redis's `maxmemory-policy`, read from INFO (CONFIG GET is disabled on ElastiCache), or null
 * when the server does not report it.
 */
export async function readEvictionPolicy(redis: Redis): Promise<string | null> {
  const info = await redis.info('memory');
  return /^maxmemory_policy:(.*)$/m.exec(info)?.[1]?.trim() || null;
}

/**
 * What an eviction policy means for Sidekiq and for us, or null when there is nothing to say
 * (`noeviction`, which Sidekiq asks for, or unknown). Our lock and transfer ledgers carry no TTL
 * (their expiry is in their value, or they get a TTL only once no longer needed), so the
 * volatile-* policies — ElastiCache's default is volatile-lru — cannot evict what keeps jobs
 * exactly once; allkeys-* can evict anything, Sidekiq's own queues and our in-flight keys too.
 */
export function evictionWarning(where: string, policy: string | null): string | null {
  if (policy === null || policy === 'noeviction') return null;
  if (policy.startsWith('allkeys-')) {
    return `WARNING: ${where} has maxmemory-policy ${policy}: under memory pressure Redis evicts any key, Sidekiq's queues and sets and a transfer's in-flight jobs and ledgers included, so jobs can be lost. Sidekiq asks for noeviction; set it (ElastiCache: a parameter group) before migrating.`;
  }
  return `WARNING: ${where} has maxmemory-policy ${policy}, not noeviction (which Sidekiq asks for): under memory pressure Redis evicts keys that have a TTL. Our run lock and ledgers have none while they matter, so no job is lost or duplicated by it, but Sidekiq's own expiring keys can go; set noeviction.`;
}

/**
 * A transfer refuses to write where any key can be evicted (allkeys-*): an evicted in-flight key
 * loses jobs, an evicted ledger duplicates them. Nothing has been touched when this throws.
 */
export function assertTransferSafe(where: string, policy: string | null): void {
  if (policy?.startsWith('allkeys-')) {
    throw new InputError(`${where} has maxmemory-policy ${policy}: Redis may evict any key under memory pressure, a transfer's in-flight jobs and ledger included, which would lose or duplicate jobs. Set maxmemory-policy to noeviction (as Sidekiq asks) or a volatile-* policy, then run again.`);
  }
}
