import { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../../core/redis/encoded-command.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { runLockKey, runStopMarkerKey } from '../../core/redis/run-lock.js';
import { sendSlabs } from '../../core/redis/send-slabs.js';
import { privateRedis } from '../support/private-redis.js';
import { waitUntil } from '../support/wait-until.js';

// A private server: CLIENT PAUSE must not hold other tests' calls.
const server = privateRedis();

/** Every byte `socket` hands the kernel from now on, copied at that moment (not when `write` was called). */
function bytesWritten(): { of: (socket: unknown) => Buffer; restore: () => void } {
  type Proto = { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
  const proto = Socket.prototype as unknown as Proto;
  const { _write: write, _writev: writev } = proto;
  const seen = new Map<unknown, Buffer[]>();
  const keep = (socket: unknown, chunk: unknown) => {
    const list = seen.get(socket) ?? [];
    list.push(Buffer.isBuffer(chunk) ? Buffer.from(chunk) : Buffer.from(String(chunk), 'utf8'));
    seen.set(socket, list);
  };
  proto._write = function (this: Socket, ...args: unknown[]) {
    keep(this, args[0]);
    return write.apply(this, args);
  };
  proto._writev = function (this: Socket, ...args: unknown[]) {
    for (const { chunk } of args[0] as { chunk: unknown }[]) keep(this, chunk);
    return writev.apply(this, args);
  };
  return {
    of: (socket) => Buffer.concat(seen.get(socket) ?? []),
    restore: () => {
      proto._write = write;
      proto._writev = writev;
    },
  };
}

describe("the send slabs' regions (core/redis/send-slabs.ts)", () => {
  it('are not used again while ioredis may still send a call again: a call written, its connection lost before its reply, is sent again byte for byte although other calls were encoded meanwhile', { timeout: 60_000 }, async () => {
    const acquire = new LuaScript('acquireRunLock-5', { encodeCalls: true });
    const admin = server.client();
    await admin.script('LOAD', acquire.source);
    const first = new Redis(server.url(), { protocol: 2 });
    const other = new Redis(server.url(), { protocol: 2 });
    await first.ping();
    await other.ping();
    // A call large enough to be worth a slab, small enough to take one (a quarter of a slab at most).
    const call = (runId: string, fill: string) => ({
      keys: [runLockKey(`${runId}:`), runStopMarkerKey(`${runId}:`, runId)],
      args: [runId, JSON.stringify({ runId, fill: fill.repeat(40_000) }), 60_000, 'start'],
    });
    const mine = call('mine', 'a');
    const expected = encodeCommand(['EVALSHA', acquire.sha, 2, ...mine.keys, ...mine.args]);
    const written = bytesWritten();
    try {
      // Redis takes the call's bytes but runs no write until unpaused: the socket's write is done
      // (its callback ran), its reply is not.
      await admin.call('CLIENT', 'PAUSE', '60000', 'WRITE');
      const firstSocket = first.stream;
      const running = acquire.runAll(first, [mine]);
      await waitUntil('the call written', () => written.of(firstSocket).length >= expected.length && firstSocket.writableLength === 0);
      await new Promise((resolve) => setImmediate(resolve));
      // Other calls encoded meanwhile, and their bytes written: a region given back at its write's
      // callback would be theirs now.
      const others = Array.from({ length: 8 }, (_, i) => acquire.runAll(other, [call(`other-${i}`, 'b')]));
      await waitUntil('the other calls written', () => written.of(other.stream).length > 8 * 40_000);
      // The connection drops under the unanswered call; ioredis connects again and sends it again.
      firstSocket.destroy();
      await waitUntil('the call sent again', () => first.stream !== firstSocket && written.of(first.stream).length >= expected.length);
      await admin.call('CLIENT', 'UNPAUSE');
      const [reply] = await running;
      const otherReplies = await Promise.all(others);

      expect(written.of(firstSocket).subarray(-expected.length).equals(expected)).toBe(true);
      // What went out again on the new connection: exactly the call (after the SELECT/handshake, if any).
      expect(written.of(first.stream).subarray(-expected.length).equals(expected)).toBe(true);
      expect([reply, ...otherReplies.map(([r]) => r)]).toEqual(Array.from({ length: 9 }, () => [1]));
      expect(JSON.parse(String(await admin.get(runLockKey('mine:')))).fill).toBe('a'.repeat(40_000));
    } finally {
      written.restore();
      await admin.call('CLIENT', 'UNPAUSE');
      first.disconnect();
      other.disconnect();
    }
  });

  it('hands out regions that do not overlap while held, and the same memory again once given back', async () => {
    const { SendSlabs } = await import('../../core/redis/send-slabs.js');
    const slabs = new SendSlabs(1024, 1);
    const a = slabs.take(200)!;
    const b = slabs.take(256)!;
    expect(slabs.take(257)).toBeUndefined();
    expect(a.slab).toBe(b.slab);
    expect(b.bytes.byteOffset).toBe(a.bytes.byteOffset + 200);
    a.bytes.fill(1);
    b.bytes.fill(2);
    slabs.give(a.slab);
    // b still held: the next region comes after it, never over it.
    const c = slabs.take(100)!;
    expect(c.bytes.byteOffset).toBe(b.bytes.byteOffset + 256);
    c.bytes.fill(3);
    expect(b.bytes.every((x) => x === 2)).toBe(true);
    slabs.give(b.slab);
    slabs.give(c.slab);
    // All given back: the slab starts over.
    expect(slabs.take(10)!.bytes.byteOffset).toBe(a.bytes.byteOffset);
  });

  it('starts a new slab when one is full, and uses a full one again only once all of it is given back', async () => {
    const { SendSlabs } = await import('../../core/redis/send-slabs.js');
    const slabs = new SendSlabs(1024, 1);
    const take4 = () => [slabs.take(256)!, slabs.take(256)!, slabs.take(256)!, slabs.take(256)!];
    const first = take4();
    const second = take4();
    expect(new Set(first.map((r) => r.slab)).size).toBe(1);
    expect(second.every((r) => r.slab !== first[0]!.slab)).toBe(true);
    // One region of the first slab still held: the next slab is a new one.
    for (const r of first.slice(0, 3)) slabs.give(r.slab);
    const third = take4();
    expect(third.every((r) => r.slab !== first[0]!.slab && r.slab !== second[0]!.slab)).toBe(true);
    // All of it given back: the first slab is the next one used.
    slabs.give(first[3]!.slab);
    expect(slabs.take(256)!.slab).toBe(first[0]!.slab);
  });

  it('keeps at most keepFree idle slabs for later; the others are left to the GC, never handed out again', async () => {
    const { SendSlabs } = await import('../../core/redis/send-slabs.js');
    const slabs = new SendSlabs(1024, 1);
    const fill = () => [slabs.take(256)!, slabs.take(256)!, slabs.take(256)!, slabs.take(256)!];
    const a = fill();
    const b = fill();
    const c = fill();
    // a and b retired while held; given back, a is kept, b is one too many.
    for (const r of [...a, ...b]) slabs.give(r.slab);
    const next = fill();
    expect(next.every((r) => r.slab === a[0]!.slab)).toBe(true);
    const after = slabs.take(256)!;
    expect([a[0]!.slab, b[0]!.slab, c[0]!.slab]).not.toContain(after.slab);
  });

  it('are what the process uses for Lua calls', () => {
    expect(sendSlabs.slabBytes).toBe(4 * 2 ** 20);
  });
});
