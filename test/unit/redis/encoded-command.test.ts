import { Command } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { inspectJobRoute } from '../../../core/payload/inspect-job.js';
import { queueRewrite, rewriteQueue } from '../../../core/payload/rewrite-queue.js';
import { entryDigest, RewriteDigest } from '../../../core/reroute/rewritten-entries.js';
import { canEncode, encodeCommand, EncodedCommand, encodeInto, plainPart, type CommandPart } from '../../../core/redis/encoded-command.js';
import { SendSlabs } from '../../../core/redis/send-slabs.js';

/** What ioredis itself writes for the same command (its Buffer mode when any part is a Buffer). */
function ioredisBytes(parts: readonly CommandPart[]): Buffer {
  const [name, ...args] = parts;
  const command = new Command(String(name), args.map(plainPart), { replyEncoding: null });
  command.stringifyArguments();
  const written = command.toWritable({});
  return Buffer.isBuffer(written) ? written : Buffer.from(written, 'utf8');
}

describe('encodeCommand', () => {
  it("writes a rewrite spliced into the command, and its digest read back from there or made apart, as the rewrite's own Buffer and digest (issue #18)", () => {
    const payloads = [
      '{"class":"A","queue":"old","args":[1,"\u00e9"],"jid":"j1"}',
      '{"class":"A","args":[],"jid":"j2"}',
      '{"class":"ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper","wrapped":"M","queue":"old","args":[{"job_class":"M","queue_name":"old"}],"jid":"j3"}',
    ].map((text) => Buffer.from(text));
    for (const [i, payload] of payloads.entries()) {
      const job = inspectJobRoute(payload);
      if (job.kind === 'unparsable') throw new Error(job.reason);
      const name = i === 1 ? 'nöw' : 'new';
      const rewrite = queueRewrite(payload, job, name);
      const own = rewriteQueue(payload, job, name);
      expect(rewrite.toBuffer().equals(own)).toBe(true);
      // The digest after its rewrite (read back from the command), and before it (made apart).
      const spliced = encodeCommand(['EVALSHA', 'sha', 1, 'k'], [payload, rewrite, new RewriteDigest(rewrite), new RewriteDigest(rewrite), 'x']);
      expect(spliced.equals(ioredisBytes(['EVALSHA', 'sha', 1, 'k', payload, own, entryDigest(own), entryDigest(own), 'x']))).toBe(true);
      const digestFirst = encodeCommand(['EVALSHA'], [new RewriteDigest(queueRewrite(payload, job, name)), rewrite]);
      expect(digestFirst.equals(ioredisBytes(['EVALSHA', entryDigest(own), own]))).toBe(true);
    }
  });


  it.each<[string, CommandPart[]]>([
    ['strings only', ['EVALSHA', 'a'.repeat(40), 1, 'schedule']],
    ['Buffers, empty ones included', ['EVALSHA', 'sha', 2, 'k1', Buffer.from('{"class":"A"}'), Buffer.alloc(0), Buffer.from([0, 0xff, 0x0d, 0x0a])]],
    ['non-ASCII strings (UTF-8, a surrogate pair, a lone surrogate)', ['SADD', 'queues', 'café', '队列', '🚀', 'x\ud800y']],
    ['numbers, negative and fractional', ['ZADD', 'k', -1, 1.5, 1e21, 0, 10, 99, 100]],
    ['the empty string', ['SET', '', '']],
    ['ASCII texts either side of 16 bytes, and long ones, ASCII or not (written by two paths)', ['X', 'b'.repeat(16), 'c'.repeat(17), '{"class":"Gitlab::SomeWorker","from":"old_queue","to":"default"}', 'é'.repeat(40), `${'d'.repeat(30)}\u007f`, `${'d'.repeat(30)}\u0080`]],
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

  it('in a slab region: gives it back only once settled and every direct write has called back; ioredis, which writes without a callback, gets a copy', async () => {
    const slabs = new SendSlabs(1024, 1);
    const parts: CommandPart[] = ['EVALSHA', 'sha', 1, 'k', Buffer.from('payload')];
    const take = () => {
      const region = slabs.take(encodeCommand(parts).length)!;
      const bytes = encodeInto(() => region.bytes, parts);
      return { region, command: new EncodedCommand('evalsha', ['sha', 1, 'k'], bytes, { slabs, slab: region.slab }) };
    };
    const { region, command } = take();
    expect(region.bytes.equals(encodeCommand(parts))).toBe(true);
    // Written by ioredis: a copy of the same bytes, the region itself never handed over.
    const copy = command.toWritable({});
    expect(Buffer.isBuffer(copy) && copy.equals(region.bytes) && copy.buffer !== region.bytes.buffer).toBe(true);
    // Written directly: held until the write's callback.
    const callbacks: (() => void)[] = [];
    command.direct = true;
    expect(command.toWritable({ write: (_: Buffer, written: () => void) => callbacks.push(written) })).toBe('');
    command.resolve(Buffer.from('OK'));
    await command.promise;
    // Settled, the write not yet called back: the region is still held (the next comes after it).
    const second = take();
    expect(second.region.bytes.byteOffset).toBeGreaterThan(region.bytes.byteOffset);
    second.command.resolve(Buffer.from('OK'));
    await second.command.promise;
    callbacks[0]!();
    // Both done: the slab starts over.
    expect(slabs.take(10)!.bytes.byteOffset).toBe(region.bytes.byteOffset);
  });
});
