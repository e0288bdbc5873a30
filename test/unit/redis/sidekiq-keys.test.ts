import { describe, expect, it } from 'vitest';
import { nameFromBytes } from '../../../core/redis/key-name.js';
import { normalizePrefix, SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';

describe("Sidekiq's key names under a prefix", () => {
  it('joins a namespace with one colon, however it was spelled', () => {
    expect(normalizePrefix('')).toBe('');
    expect(normalizePrefix('resque:gitlab')).toBe('resque:gitlab:');
    expect(normalizePrefix('resque:gitlab:')).toBe('resque:gitlab:');
    expect(new SidekiqKeys().prefix).toBe('');
  });

  it('names every key under the prefix, and none without it', () => {
    for (const [prefix, p] of [['resque:gitlab', 'resque:gitlab:'], ['', '']] as const) {
      const keys = new SidekiqKeys(prefix);
      expect(keys.queue('default')).toBe(`${p}queue:default`);
      expect(keys.queues).toBe(`${p}queues`);
      expect(keys.sortedSet('retry')).toBe(`${p}retry`);
      expect(keys.processes).toBe(`${p}processes`);
      expect(keys.quarantine('mailers')).toBe(`${p}sidekiq-migrate:quarantine:mailers`);
    }
    const latin1 = nameFromBytes(Buffer.from('caf\xe9', 'latin1'));
    expect(new SidekiqKeys('p').quarantine(latin1)).toEqual(Buffer.from('p:sidekiq-migrate:quarantine:caf\xe9', 'latin1'));
  });

  it('reads the queue name of a queue key given as text or bytes, and nothing else', () => {
    const keys = new SidekiqKeys('p');
    expect(keys.queueNameOf('p:queue:a:b')).toBe('a:b');
    expect(keys.queueNameOf(Buffer.from('p:queue:x'))).toBe('x');
    expect(keys.queueNameOf('p:queue:')).toBeNull(); // no name at all
    expect(keys.queueNameOf('p:queue')).toBeNull();
    expect(keys.queueNameOf('q:queue:a')).toBeNull();
    expect(keys.queueNameOf('queue:a')).toBeNull();
    expect(keys.queueNameOf('p:retry')).toBeNull();
    expect(new SidekiqKeys('').queueNameOf('queue:a')).toBe('a');
  });
});
