import { describe, expect, it } from 'vitest';
import { InputError } from '../../../core/errors/input-error.js';
import { nameFromBytes } from '../../../core/redis/key-name.js';
import { assertRunId, batchKey, conflictsKey, inflightKey, inflightPattern, inflightSealKey, ledgerKey, parseInflightKey } from '../../../core/transfer/transfer-keys.js';

const latin1 = (text: string) => Buffer.from(text, 'latin1');

describe('run ids', () => {
  it('accepts 1 to 80 letters, digits, _ . and -', () => {
    for (const id of ['a', 'Z', '0', '9', '_', '.', '-', 'run-2024.01_Az09', 'x'.repeat(80)]) expect(assertRunId(id)).toBe(id);
  });

  it('refuses anything else, saying which id and what is allowed', () => {
    for (const id of ['', 'x'.repeat(81), 'a:b', 'a b', ' a', 'a ', 'a*', 'a/b', 'é', 'a\n', '\na']) {
      expect(() => assertRunId(id), JSON.stringify(id)).toThrow(InputError);
    }
    expect(() => assertRunId('a:b')).toThrow(`Invalid run id "a:b": use 1–80 letters, digits, '_', '.' or '-'`);
  });
});

describe('the keys a transfer keeps', () => {
  it('are named after the side\'s prefix, the run and the source key', () => {
    expect(inflightKey('p:', 'r1', 'queue:default')).toBe('p:sidekiq-migrate:r1:inflight:queue:default');
    expect(batchKey('p:', 'r1', 'retry')).toBe('p:sidekiq-migrate:r1:batch:retry');
    expect(conflictsKey('p:', 'r1', 'schedule')).toBe('p:sidekiq-migrate:r1:conflicts:schedule');
    expect(inflightSealKey('p:', 'r1', 'schedule')).toBe('p:sidekiq-migrate:r1:seal:schedule');
    expect(ledgerKey('t:', 'r1', 'dead')).toBe('t:sidekiq-migrate:r1:ledger:dead');
    expect(inflightPattern('p\\*:')).toBe('p\\*:sidekiq-migrate:*:inflight:*');
    // A queue name that is not UTF-8 gives each key its exact bytes.
    const name = nameFromBytes(latin1('caf\xe9'));
    expect(batchKey('p:', 'r1', `queue:${name}`)).toEqual(latin1('p:sidekiq-migrate:r1:batch:queue:caf\xe9'));
    expect(conflictsKey('p:', 'r1', `queue:${name}`)).toEqual(latin1('p:sidekiq-migrate:r1:conflicts:queue:caf\xe9'));
    expect(ledgerKey('t:', 'r1', `queue:${name}`)).toEqual(latin1('t:sidekiq-migrate:r1:ledger:queue:caf\xe9'));
  });
});

describe('parsing an in-flight key', () => {
  it('gives back the run id and the source key, a queue\'s name lossless', () => {
    expect(parseInflightKey('p:', latin1('p:sidekiq-migrate:r.1_A-9:inflight:queue:caf\xe9'))).toEqual({ runId: 'r.1_A-9', sourceKey: `queue:${nameFromBytes(latin1('caf\xe9'))}` });
    expect(parseInflightKey('p:', 'p:sidekiq-migrate:r:inflight:queue:default')).toEqual({ runId: 'r', sourceKey: 'queue:default' });
    expect(parseInflightKey('', 'sidekiq-migrate:r:inflight:dead')).toEqual({ runId: 'r', sourceKey: 'dead' });
    // A prefix that is not ASCII is compared as UTF-8 bytes.
    expect(parseInflightKey('é:', Buffer.from('é:sidekiq-migrate:r:inflight:retry'))).toEqual({ runId: 'r', sourceKey: 'retry' });
    expect(parseInflightKey('é:', 'é:sidekiq-migrate:r:inflight:retry')).toEqual({ runId: 'r', sourceKey: 'retry' });
    // A set key's bytes after the prefix are read as UTF-8.
    expect(parseInflightKey('p:', Buffer.from('p:sidekiq-migrate:r:inflight:ré'))).toEqual({ runId: 'r', sourceKey: 'ré' });
  });

  it('is null for any key that is not an in-flight key under that prefix', () => {
    for (const key of [
      'q:sidekiq-migrate:r:inflight:retry', // another prefix of the same length
      'p:sidekiq-migrate:r:inflight:', // no source key
      'p:sidekiq-migrate:r:inflight:queue:', // no queue name
      'p:sidekiq-migrate::inflight:retry', // no run id
      'p:sidekiq-migrate:r:n:inflight:retry', // a run id that is no run id
      'p:sidekiq-migrate:r:batch:retry',
      'p:sidekiq-migrate:r:seal:retry',
      'p:xsidekiq-migrate:r:inflight:retry',
      'p:',
    ]) {
      expect(parseInflightKey('p:', key), key).toBeNull();
    }
  });
});
