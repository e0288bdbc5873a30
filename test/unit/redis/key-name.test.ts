import { describe, expect, it } from 'vitest';
import { displayName, displayText, isPlainName, nameBytes, nameFromBytes, printable, redisKey } from '../../../core/redis/key-name.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { inflightKey, parseInflightKey } from '../../../core/transfer/transfer-keys.js';

const latin1 = (text: string) => Buffer.from(text, 'latin1');

describe('printable', () => {
  it('escapes what a terminal acts on (C0, DEL, C1, bidirectional controls), in plain and lossless names alike', () => {
    expect(printable('ok ✓ é')).toBe('ok ✓ é');
    expect(printable('\u0000a\nb\u001b[2J\u007f\u009b\u202ex\u2069')).toBe('\\x00a\\x0ab\\x1b[2J\\x7f\\x9b\\u202ex\\u2069');
    expect(displayName('q\n')).toBe('q\\x0a');
    expect(displayName(nameFromBytes(Buffer.from([0x71, 0x0a, 0xc2, 0x9b, 0xff])))).toBe('q\\x0a\\x9b\\xff');
  });
});

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

describe('showing key names to people', () => {
  const bytes = (...b: number[]) => Buffer.from(b);

  it('shows printable ASCII and valid 2-, 3- and 4-byte UTF-8 as text, every other byte as \\xNN', () => {
    // A NUL first makes even valid UTF-8 an encoded name.
    const shown = displayName(nameFromBytes(Buffer.concat([bytes(0x00, 0x1f, 0x20, 0x7e, 0x7f), Buffer.from('é€😀'), bytes(0xc1, 0xf5, 0x80)])));
    expect(shown).toBe('\\x00\\x1f ~\\x7fé€😀\\xc1\\xf5\\x80');
    // A sequence cut short at the end, or broken in the middle, is shown byte by byte.
    expect(displayName(nameFromBytes(bytes(0x61, 0xe2, 0x82)))).toBe('a\\xe2\\x82');
    expect(displayName(nameFromBytes(bytes(0xe2, 0x41, 0x82, 0xf0, 0x9f, 0x98)))).toBe('\\xe2A\\x82\\xf0\\x9f\\x98');
    expect(displayName(nameFromBytes(bytes(0xed, 0xa0, 0x80)))).toBe('\\xed\\xa0\\x80'); // a surrogate is not UTF-8
    expect(displayName(nameFromBytes(bytes(0xdf, 0xbf, 0xff)))).toBe('\u07ff\\xff');
    expect(displayName('plain:text')).toBe('plain:text');
  });

  it('keeps the text in front of an encoded name, in keys and in messages', () => {
    const name = nameFromBytes(bytes(0x63, 0xe9));
    expect(displayName(`queue:${name}`)).toBe('queue:c\\xe9');
    expect(redisKey(`p:queue:${name}`)).toEqual(Buffer.concat([Buffer.from('p:queue:'), bytes(0x63, 0xe9)]));
    expect(displayText(`moved ${name} and ${nameFromBytes(bytes(0xff))}.`)).toBe('moved c\\xe9 and \\xff.');
    expect(displayText('nothing encoded')).toBe('nothing encoded');
    expect(isPlainName('queue:a')).toBe(true);
    expect(isPlainName(`queue:${name}`)).toBe(false);
    expect(nameFromBytes(bytes(0x00, 0x61))).toBe('\u0000AGE=');
    expect(nameBytes('\u0000AGE=')).toEqual(bytes(0x00, 0x61));
    expect(nameBytes('ümlaut')).toEqual(Buffer.from('ümlaut', 'utf8'));
  });
});

describe('the edges of key names (mutation testing)', () => {
  const bytes = (...b: number[]) => Buffer.from(b);

  it('turns a bare encoded name, with no text in front, into its bytes', () => {
    const name = nameFromBytes(bytes(0x63, 0xe9));
    expect(redisKey(name)).toEqual(bytes(0x63, 0xe9));
  });

  it('decodes only what follows the NUL, whatever character comes before it', () => {
    // "b" is a base64 character: taking it into the decoded part would change the bytes.
    const name = nameFromBytes(bytes(0xff, 0x00, 0x01));
    expect(redisKey(`ab${name}`)).toEqual(Buffer.concat([Buffer.from('ab'), bytes(0xff, 0x00, 0x01)]));
    expect(redisKey(`queue_${name}`)).toEqual(Buffer.concat([Buffer.from('queue_'), bytes(0xff, 0x00, 0x01)]));
  });

  it('shows the first and last lead byte of each UTF-8 length as text', () => {
    const shown = (...b: number[]) => displayName(nameFromBytes(bytes(0x00, ...b)));
    expect(shown(0xc2, 0xa9)).toBe('\\x00©'); // U+00A9, lead byte 0xc2
    expect(shown(0xdf, 0xbf)).toBe('\\x00\u07ff');
    expect(shown(0xe0, 0xa0, 0x80)).toBe('\\x00\u0800'); // lead byte 0xe0
    expect(shown(0xef, 0xbc, 0x81)).toBe('\\x00\uff01'); // lead byte 0xef
    expect(shown(0xf0, 0x9f, 0x98, 0x80)).toBe('\\x00😀');
    expect(shown(0xf4, 0x8f, 0xbf, 0xbf)).toBe('\\x00\u{10ffff}'); // lead byte 0xf4, the last code point
    expect(shown(0xf5, 0x80, 0x80, 0x80)).toBe('\\x00\\xf5\\x80\\x80\\x80');
  });

  it('shows a sequence that ends exactly at the end of the name as text', () => {
    expect(displayName(nameFromBytes(bytes(0x00, 0xc3, 0xa9)))).toBe('\\x00é');
    expect(displayName(nameFromBytes(bytes(0xff, 0xe2, 0x82, 0xac)))).toBe('\\xff€');
  });
});
