import { describe, expect, it } from 'vitest';
import { displayName, displayText, isPlainName, nameBytes, nameFromBytes, redisKey } from '../../../core/redis/key-name.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { inflightKey, parseInflightKey } from '../../../core/transfer/transfer-keys.js';

const latin1 = (text: string) => Buffer.from(text, 'latin1');

describe('lossless key names', () => {
  it('keeps UTF-8 names as their text, and every other byte string round-trips exactly', () => {
    expect(nameFromBytes(Buffer.from('café:ünïcode ✓'))).toBe('café:ünïcode ✓');
    for (const bytes of [latin1('caf\xe9'), Buffer.from([0xff, 0xfe]), Buffer.from([0, 0x61]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.alloc(0)]) {
      const name = nameFromBytes(bytes);
      expect(nameBytes(name)).toEqual(bytes);
      // Survives JSON (work items, Step Functions) unchanged.
      expect(nameBytes(JSON.parse(JSON.stringify(name)) as string)).toEqual(bytes);
    }
    expect(isPlainName(nameFromBytes(latin1('caf\xe9')))).toBe(false);
    expect(nameFromBytes(latin1('caf\xe9'))).not.toBe(nameFromBytes(Buffer.from('café')));
  });

  it('builds the exact key bytes and shows them with \\x escapes', () => {
    const keys = new SidekiqKeys('resque:gitlab');
    const name = nameFromBytes(latin1('caf\xe9'));
    expect(keys.prefix).toBe('resque:gitlab:');
    expect(keys.queue(name)).toEqual(latin1('resque:gitlab:queue:caf\xe9'));
    expect(keys.queue('plain')).toBe('resque:gitlab:queue:plain');
    expect(keys.queueNameOf(latin1('resque:gitlab:queue:caf\xe9'))).toBe(name);
    expect(redisKey('plain')).toBe('plain');
    expect(displayName(name)).toBe('caf\\xe9');
    expect(displayName(nameFromBytes(Buffer.concat([Buffer.from('✓'), Buffer.from([0xff])])))).toBe('✓\\xff');
    expect(displayText(`queues nobody listens to: ${name}, b`)).toBe('queues nobody listens to: caf\\xe9, b');
  });

  it('parses in-flight keys of such queues back to the same name', () => {
    const name = nameFromBytes(latin1('caf\xe9'));
    const key = inflightKey('p:', 'run-1', `queue:${name}`) as Buffer;
    expect(key).toEqual(latin1('p:sidekiq-migrate:run-1:inflight:queue:caf\xe9'));
    expect(parseInflightKey('p:', key)).toEqual({ runId: 'run-1', sourceKey: `queue:${name}` });
    expect(parseInflightKey('p:', 'p:sidekiq-migrate:run-1:inflight:retry')).toEqual({ runId: 'run-1', sourceKey: 'retry' });
    expect(parseInflightKey('p:', 'other:sidekiq-migrate:run-1:inflight:retry')).toBeNull();
  });
});
