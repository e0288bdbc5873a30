/**
 * Reused memory for the bytes of encoded commands (encoded-command.ts), given back only once
 * nothing can read them again.
 *
 * Why (issue #18): a re-route's Lua calls are ~70 KB each (~420 MB over 300,000 jobs), each in an
 * ArrayBuffer of its own. V8 counts those outside its heap and starts a full mark-compact of the
 * whole heap for every few tens of MB of them, whatever the JS objects do. Cut from slabs that are
 * used again, they stop being new allocations.
 *
 * The danger: a region handed to a socket is read by libuv after `write` returns (until the
 * write's callback), and ioredis writes a command again after a reconnect until it has its reply.
 * A region is therefore given back only when its holder drops every hold it took: one until the
 * command is settled, one per write until that write's callback (EncodedCommand).
 */
export class SendSlabs {
  private current: Slab | undefined;
  private readonly free: Slab[] = [];

  /**
   * `slabBytes`: each slab's size; a command of more than a quarter of it gets a buffer of its
   * own. `keepFree`: how many idle slabs are kept for later (the others are left to the GC). The
   * process keeps up to keepFree + 1 slabs for its life (20 MiB by default, a warm Lambda's too);
   * a whole 300,000-job re-route made 3.
   */
  constructor(
    readonly slabBytes: number = 4 * 2 ** 20,
    private readonly keepFree: number = 4,
  ) {}

  /** A region of `length` bytes (contents unspecified) and its slab, or undefined when too large. */
  take(length: number): SlabRegion | undefined {
    if (length > this.slabBytes / 4) return undefined;
    let slab = this.current;
    if (slab === undefined || slab.used + length > slab.buffer.length) {
      if (slab !== undefined) this.retire(slab);
      slab = this.free.pop() ?? new Slab(Buffer.allocUnsafeSlow(this.slabBytes));
      this.current = slab;
    }
    const at = slab.used;
    slab.used += length;
    slab.outstanding++;
    return { bytes: slab.buffer.subarray(at, at + length), slab };
  }

  /** Gives a region back: its slab is used again once none of its regions is held. */
  give(slab: Slab): void {
    if (--slab.outstanding > 0) return;
    if (slab === this.current) slab.used = 0;
    else if (slab.retired) {
      slab.retired = false;
      slab.used = 0;
      if (this.free.length < this.keepFree) this.free.push(slab);
    }
  }

  private retire(slab: Slab): void {
    if (slab.outstanding === 0) {
      slab.used = 0;
      if (this.free.length < this.keepFree) this.free.push(slab);
    } else slab.retired = true;
  }
}

export interface SlabRegion {
  readonly bytes: Buffer;
  readonly slab: Slab;
}

export class Slab {
  used = 0;
  outstanding = 0;
  retired = false;
  constructor(readonly buffer: Buffer) {}
}

/** The process's slabs for the bytes of encoded Lua calls (lua-script.ts). */
export const sendSlabs = new SendSlabs();
