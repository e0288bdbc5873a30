import { Command } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { canEncode, encodeCommand, EncodedCommand, type CommandPart } from '../../../core/redis/encoded-command.js';

/** What ioredis itself writes for the same command (its Buffer mode when any part is a Buffer). */
function ioredisBytes(parts: readonly CommandPart[]): Buffer {
  const [name, ...args] = parts;
  const command = new Command(String(name), args, { replyEncoding: null });
  command.stringifyArguments();
  const written = command.toWritable({});
  return Buffer.isBuffer(written) ? written : Buffer.from(written, 'utf8');
}

describe('encodeCommand', () => {
  it.each<[string, CommandPart[]]>([
    ['strings only', ['EVALSHA', 'a'.repeat(40), 1, 'schedule']],
    ['Buffers, empty ones included', ['EVALSHA', 'sha', 2, 'k1', Buffer.from('{"class":"A"}'), Buffer.alloc(0), Buffer.from([0, 0xff, 0x0d, 0x0a])]],
    ['non-ASCII strings (UTF-8, a surrogate pair, a lone surrogate)', ['SADD', 'queues', 'café', '队列', '🚀', 'x\ud800y']],
    ['numbers, negative and fractional', ['ZADD', 'k', -1, 1.5, 1e21, 0, 10, 99, 100]],
    ['the empty string', ['SET', '', '']],
    ['lengths across digit boundaries', ['X', 'a'.repeat(9), 'a'.repeat(10), 'a'.repeat(99), 'a'.repeat(100), Buffer.alloc(1000, 0x61)]],
  ])('writes the bytes ioredis writes: %s', (_, parts) => {
    expect(encodeCommand(parts).equals(ioredisBytes(parts))).toBe(true);
  });

  it('joins its lists as one command', () => {
    const parts: CommandPart[] = ['EVALSHA', 'sha', 1, 'k'];
    const more: CommandPart[] = [Buffer.from('a'), 'b', 3];
    const rest: CommandPart[] = ['é', Buffer.from([0xff]), 12];
    expect(encodeCommand(parts, more).equals(ioredisBytes([...parts, ...more]))).toBe(true);
    expect(encodeCommand(['EVALSHA'], parts.slice(1), more).equals(ioredisBytes([...parts, ...more]))).toBe(true);
    expect(encodeCommand(parts, more, rest).equals(ioredisBytes([...parts, ...more, ...rest]))).toBe(true);
    expect(encodeCommand(parts, [], rest).equals(ioredisBytes([...parts, ...rest]))).toBe(true);
  });

  it('counts ten or more parts in the array header', () => {
    const parts = Array.from({ length: 12 }, (_, i) => String(i));
    expect(encodeCommand(parts).subarray(0, 5).toString()).toBe('*12\r\n');
  });
});

describe('EncodedCommand', () => {
  it('is written as the bytes it was given and replies with Buffers', () => {
    const bytes = encodeCommand(['PING']);
    const command = new EncodedCommand('ping', [], bytes);
    expect(command.toWritable()).toBe(bytes);
    expect(command.transformReply(Buffer.from('PONG'))).toEqual(Buffer.from('PONG'));
  });

  it('is not used for a client that prefixes keys', () => {
    expect(canEncode({ options: {} })).toBe(true);
    expect(canEncode({ options: { keyPrefix: 'app:' } })).toBe(false);
  });
});
