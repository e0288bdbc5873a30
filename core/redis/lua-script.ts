import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { canEncode, EncodedCommand, encodeInto, plainPart, type WrittenPart } from './encoded-command.js';
import { sendSlabs, type SlabRegion } from './send-slabs.js';

const GUARDS = readFileSync(new URL('./lua/lib/guards.lua', import.meta.url), 'utf8');
const VARIADIC = readFileSync(new URL('./lua/lib/variadic.lua', import.meta.url), 'utf8');
const CLAIM_LOCK = readFileSync(new URL('./lua/lib/claim-lock.lua', import.meta.url), 'utf8');
const RUN_GENERATION = readFileSync(new URL('./lua/lib/run-generation.lua', import.meta.url), 'utf8');
const MOVE_RECORD = readFileSync(new URL('./lua/lib/move-record.lua', import.meta.url), 'utf8');

export type LuaArg = string | Buffer | number;

/** Pipelines of script calls sent on each client (scriptCallsSentOn). */
const scriptCallsSent = new WeakMap<Redis, number>();

/**
 * How many pipelines of script calls (any LuaScript's runAll) were sent on `redis` so far: every
 * step that moves jobs is a script, so work during which this did not change on any of its clients
 * moved none (page-step.ts: a page task's attempt that failed before its first is taken back). A
 * client shared by tasks running at once (the local runner's) counts all of theirs: "may".
 */
export function scriptCallsSentOn(redis: Redis): number {
  return scriptCallsSent.get(redis) ?? 0;
}

const callsThatRan = new WeakMap<object, readonly { readonly index: number; readonly reply: unknown }[]>();

/**
 * The calls that ran beside the one whose failure runAll threw (their place among the calls and
 * their replies: those before it, and after it), found along `error`'s causes; [] when none did.
 */
export function otherCallsThatRan(error: unknown): readonly { readonly index: number; readonly reply: unknown }[] {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const ran = callsThatRan.get(e);
    if (ran) return ran;
  }
  return [];
}

export interface LuaCall {
  readonly keys: readonly (string | Buffer)[];
  /** A WrittenPart (a rewritten payload, rewrite-queue.ts) goes out as the Buffer of its bytes. */
  readonly args: readonly (LuaArg | WrittenPart)[];
}

/** A plain command, `[name, ...args]`, e.g. `['SADD', key, member]`. */
export type RedisCommand = readonly [string, ...LuaArg[]];

/**
 * One atomic step, kept as a `.lua` file beside this module (its header names KEYS, ARGV and the
 * reply), with the shared functions of `lua/lib/` in front (guards.lua, variadic.lua, claim-lock.lua,
 * run-generation.lua, move-record.lua). Calls go out as EVALSHA, many in one pipeline; when the server does not know the script
 * (first use, restart, SCRIPT FLUSH, failover) every call fails with NOSCRIPT without running, so
 * the script is loaded once and exactly those calls are sent again.
 *
 * Replies come back as Buffers (integers stay numbers): a script may return job payloads, which
 * are bytes and must never go through a UTF-8 decode.
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  /**
   * `encodeCalls`: the calls' bytes are written here rather than by ioredis (encoded-command.ts:
   * the same RESP for a fraction of the CPU, for calls of hundreds of arguments). Opt-in per
   * script (on for the re-route's and the transfer's): an encoded command's `args` hold only its
   * SHA, key count and keys, and a test that reads a call's ARGV there (the run lock's, in
   * run-transfer-lock.test.ts) needs the default. Tests that swap a call's script do it at the
   * pipeline's `sendCommand`, which both paths go through (test/support/swap-evalsha.ts).
   */
  constructor(
    readonly name: string,
    private readonly options: { readonly encodeCalls?: boolean } = {},
  ) {
    // The guards (lua/lib/guards.lua: key types and scores checked before any write) come first.
    // variadic.lua: commands of many items in one redis.call (issue #18). claim-lock.lua: a
    // transfer claim's look at the run lock (written once for the two claims that use it).
    // run-generation.lua: which start of a run holds its lock (the run's bookkeeping steps).
    // move-record.lua: a re-route's record of its moves (written once for the two re-route steps).
    this.source = `${GUARDS}\n${VARIADIC}\n${CLAIM_LOCK}\n${RUN_GENERATION}\n${MOVE_RECORD}\n${readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8')}`;
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }

  /**
   * Runs the calls in order in one round trip (two when the script must be loaded first).
   * `before`: plain commands sent ahead of the calls in the same pipeline, once: Redis runs them
   * first; an error of one is thrown, but only after the calls ran all the same (a record the calls'
   * effects must never exist without belongs in the calls themselves: move-record.ts).
   * `onSent`: called the moment each pipeline of the calls is written, before its reply (again
   * after a NOSCRIPT retry): what it sends on the same connection runs after the calls.
   */
  async runAll(redis: Redis, calls: readonly LuaCall[], before: readonly RedisCommand[] = [], onSent?: () => void): Promise<unknown[]> {
    const replies: unknown[] = new Array(calls.length);
    let pending = calls.map((_, i) => i);
    for (let attempt = 0; pending.length > 0; attempt++) {
      // ioredis has evalshaBuffer and sendCommand on pipelines at run time, but not in its type definitions.
      const pipeline = redis.pipeline() as ReturnType<Redis['pipeline']> & {
        evalshaBuffer(sha: string, numkeys: number, ...args: LuaArg[]): unknown;
        sendCommand(command: EncodedCommand): unknown;
      };
      const ahead = attempt === 0 ? before : [];
      for (const [command, ...args] of ahead) pipeline.call(command, ...args);
      const encode = this.options.encodeCalls === true && canEncode(redis);
      // Plain loops, no spreads of a call's arguments: this runs for every slice of a transfer,
      // and V8 compiled the spreads into large code (issue #18).
      for (let n = 0; n < pending.length; n++) {
        const { keys, args } = calls[pending[n]!]!;
        const head: LuaArg[] = [this.sha, keys.length];
        for (let k = 0; k < keys.length; k++) head.push(keys[k]!);
        if (encode) pipeline.sendCommand(encodedCall(head, args));
        else pipeline.evalshaBuffer(...(head.concat(args.map(plainPart)) as [string, number, ...LuaArg[]]));
      }
      scriptCallsSent.set(redis, (scriptCallsSent.get(redis) ?? 0) + 1);
      // Nothing but encoded calls in this pipeline: each is written to the socket as ioredis
      // sends it (encoded-command.ts), corked so that the pipeline still goes out in one write.
      const direct = encode && writesDirect(pipeline);
      const socket = direct ? corkable(redis.stream) : undefined;
      socket?.cork();
      let sent: ReturnType<typeof pipeline.exec>;
      try {
        sent = pipeline.exec();
      } finally {
        socket?.uncork();
      }
      onSent?.();
      const all = (await sent) ?? [];
      for (let n = 0; n < ahead.length; n++) if (all[n]![0]) throw all[n]![0];
      const missing: number[] = [];
      let failed: Error | undefined;
      for (let n = 0; n < pending.length; n++) {
        const [error, reply] = all[ahead.length + n]!;
        const i = pending[n]!;
        if (!error) replies[i] = reply;
        else if (String(error.message).startsWith('NOSCRIPT') && attempt === 0) missing.push(i);
        else failed ??= error;
      }
      // A call that failed fails them all, but the others ran (each is its own atomic step, and
      // Redis runs the calls after a refused one too): their replies go with the error.
      if (failed) {
        const ran: { index: number; reply: unknown }[] = [];
        for (let i = 0; i < calls.length; i++) if (i in replies) ran.push({ index: i, reply: replies[i] });
        callsThatRan.set(failed, ran);
        throw failed;
      }
      if (missing.length > 0) await redis.script('LOAD', this.source);
      pending = missing;
    }
    return replies;
  }

  async run(redis: Redis, call: LuaCall): Promise<unknown> {
    const [reply] = await this.runAll(redis, [call]);
    return reply;
  }
}

/**
 * An EVALSHA's command, its bytes in a region of the process's send slabs when one fits
 * (send-slabs.ts: issue #18, fewer ArrayBuffers), else in a buffer of their own.
 */
function encodedCall(head: readonly LuaArg[], args: LuaCall['args']): EncodedCommand {
  let region: SlabRegion | undefined;
  const take = (length: number): Buffer => {
    region = sendSlabs.take(length);
    return region === undefined ? Buffer.allocUnsafe(length) : region.bytes;
  };
  let bytes: Buffer;
  try {
    bytes = encodeInto(take, ['EVALSHA'], head, args);
  } catch (error) {
    if (region !== undefined) sendSlabs.give(region.slab);
    throw error;
  }
  const taken = region as SlabRegion | undefined;
  return new EncodedCommand('evalsha', head, bytes, taken && { slabs: sendSlabs, slab: taken.slab });
}

/** The connection's socket when it can be corked (absent before a lazy client connects). */
function corkable(stream: unknown): { cork(): void; uncork(): void } | undefined {
  const s = stream as { cork?: unknown; uncork?: unknown } | undefined;
  return s && typeof s.cork === 'function' && typeof s.uncork === 'function' ? (s as { cork(): void; uncork(): void }) : undefined;
}

/**
 * Whether every command queued in `pipeline` (ioredis's `_queue`, read as it is sent) is an
 * EncodedCommand; if so, marks them to write themselves (EncodedCommand.direct). Anything else
 * queued (a plain command ahead, a test's command queued in between) keeps ioredis's own writing.
 */
function writesDirect(pipeline: unknown): boolean {
  const queue = (pipeline as { _queue?: unknown })._queue;
  if (!Array.isArray(queue) || queue.length === 0) return false;
  for (const command of queue) if (!(command instanceof EncodedCommand)) return false;
  for (const command of queue as EncodedCommand[]) command.direct = true;
  return true;
}
