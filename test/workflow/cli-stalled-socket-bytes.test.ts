import { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Slab, SendSlabs } from '../../core/redis/send-slabs.js';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { prng } from '../support/seeded-random.js';

// The bytes of the Lua calls are cut from slabs that are used again (core/redis/send-slabs.ts),
// and a socket still reads a write's bytes after `write` returns, until its callback (libuv's
// queue when the kernel's buffer is full; Node's own while an earlier write is under way). A
// region given back too early is written over by a later call while its own bytes still wait to
// go out: wrong bytes on the wire. Here every socket's writes reach the kernel a few milliseconds
// late, as on a network slower than the CLI (loopback's buffers take everything at once), so that
// calls wait in the socket while later calls are encoded; every job is then checked byte for byte.
const redis = privateRedis();

/**
 * Watches the slabs and the sockets: how many regions were cut from memory an earlier region had
 * used while some encoded call's write had not called back (the case premature reuse corrupts).
 */
function watchReuse(): { reusedWhileWriting: () => number; maxUnwritten: () => number; restore: () => void } {
  const sockets = new Set<Socket>();
  let reusedWhileWriting = 0;
  let maxUnwritten = 0;
  const highWater = new WeakMap<Slab, number>();
  const take = SendSlabs.prototype.take;
  SendSlabs.prototype.take = function (this: SendSlabs, length: number) {
    const region = take.call(this, length);
    if (region) {
      // Bytes a socket has taken but not yet written out (libuv's queue): writableLength drops
      // only when a write completes.
      let unwritten = 0;
      for (const socket of sockets) unwritten += socket.destroyed ? 0 : socket.writableLength;
      maxUnwritten = Math.max(maxUnwritten, unwritten);
      const start = region.bytes.byteOffset - region.slab.buffer.byteOffset;
      if (start < (highWater.get(region.slab) ?? 0) && unwritten > 0) reusedWhileWriting++;
      highWater.set(region.slab, Math.max(highWater.get(region.slab) ?? 0, start + length));
    }
    return region;
  };
  const write = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
    sockets.add(this);
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof Socket.prototype.write;
  return {
    reusedWhileWriting: () => reusedWhileWriting,
    maxUnwritten: () => maxUnwritten,
    restore: () => {
      SendSlabs.prototype.take = take;
      Socket.prototype.write = write;
    },
  };
}

/**
 * Every socket's writes go to the kernel `ms` later than asked, from the same buffers: bytes
 * changed in between go out changed, as they would when libuv writes them late.
 */
function lateWrites(ms: number): { late: () => number; restore: () => void } {
  type Proto = { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
  const proto = Socket.prototype as unknown as Proto;
  const { _write: write, _writev: writev } = proto;
  let late = 0;
  proto._write = function (this: Socket, ...args: unknown[]) {
    late++;
    setTimeout(() => write.apply(this, args), ms);
  };
  proto._writev = function (this: Socket, ...args: unknown[]) {
    late++;
    setTimeout(() => writev.apply(this, args), ms);
  };
  return {
    late: () => late,
    restore: () => {
      proto._write = write;
      proto._writev = writev;
    },
  };
}

let watch: ReturnType<typeof watchReuse>;
beforeEach(() => {
  watch = watchReuse();
});
afterEach(() => watch.restore());

describe('run on a connection that writes late', { timeout: 180_000 }, () => {
  it('writes every job byte for byte while its calls wait in the socket and their memory is used again', async () => {
    const client = redis.client();
    const random = prng(18);
    const expected: string[] = [];
    const payload = (i: number) => {
      // 200–2,200 bytes, no two alike, some of them not ASCII.
      const text = Array.from({ length: 20 + Math.floor(random() * 200) }, () => 'abcdéfghij🚀0123456789'[Math.floor(random() * 21)]).join('');
      return `{"class":"A","queue":"old","args":[${i},${JSON.stringify(text)}],"jid":"j${i}","retry":true}`;
    };
    for (let chunk = 0; chunk < 2; chunk++) {
      const queued: string[] = [];
      const scheduled: (string | number)[] = [];
      const retries: (string | number)[] = [];
      for (let n = 0; n < 1_000; n++) {
        const i = chunk * 3_000 + n * 3;
        queued.push(payload(i));
        scheduled.push(1_900_000_000 + i, payload(i + 1));
        retries.push(1_800_000_000 + i, payload(i + 2));
      }
      await client.rpush('queue:old', ...queued);
      await client.zadd('schedule', ...scheduled);
      await client.zadd('retry', ...retries);
      for (const p of queued) expected.push(jobEntry('queue:new', withQueue(p, 'old', 'new')));
      for (let n = 0; n < scheduled.length; n += 2) expected.push(jobEntry('schedule', withQueue(String(scheduled[n + 1]), 'old', 'new'), String(scheduled[n])));
      for (let n = 0; n < retries.length; n += 2) expected.push(jobEntry('retry', withQueue(String(retries[n + 1]), 'old', 'new'), String(retries[n])));
    }
    await client.sadd('queues', 'old');
    const slow = lateWrites(2);
    let result: Awaited<ReturnType<typeof runCli>>;
    try {
      result = await runCli('run', '--redis', redis.url(), '--rename', 'old=new');
    } finally {
      slow.restore();
    }
    const { code, stdout } = result;

    expect(code).toBe(0);
    expect(stdout).toContain('Complete');
    expect(await jobsIn(client)).toEqual(expected.sort());
    // What this test is about happened: memory of earlier calls was used again while writes waited.
    expect(slow.late()).toBeGreaterThan(0);
    expect(watch.maxUnwritten()).toBeGreaterThan(0);
    expect(watch.reusedWhileWriting()).toBeGreaterThan(0);
  });
});
