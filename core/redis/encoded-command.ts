import { Command } from 'ioredis';
import type { SendSlabs, Slab } from './send-slabs.js';

export type CommandPart = string | Buffer | number | WrittenPart;

/**
 * A part whose bytes are written straight into the command's buffer, never into one of their own
 * (a rewritten payload, rewrite-queue.ts's Splice: issue #18). Its RESP is that of a Buffer of
 * the same bytes.
 */
export interface WrittenPart {
  /** Its length in bytes. */
  readonly length: number;
  /** Writes exactly `length` bytes at `at` of `out`, the command's buffer (parts before it are written already). */
  writeTo(out: Buffer, at: number): void;
  /** Its bytes in a buffer of their own (for a call that ioredis writes). */
  toBuffer(): Buffer;
}

/** A part as ioredis takes it: a WrittenPart's bytes in a buffer of their own. */
export function plainPart(part: CommandPart): string | Buffer | number {
  return typeof part === 'object' && !(part instanceof Uint8Array) ? part.toBuffer() : part;
}

/**
 * A command whose RESP bytes are written once, here, straight into one buffer.
 *
 * Why (issue #18): ioredis encodes a command with Buffer arguments by collecting three pieces per
 * argument (`$LEN\r\n` as a string, the bytes, `\r\n`), measuring each twice and copying each into
 * a buffer of its own, which its pipeline then copies again. An EVALSHA of 50 jobs has ~200
 * arguments, and that bookkeeping was a sixth of the CLI's CPU in a re-route. Here each argument
 * is one header written byte by byte and one copy of its bytes, and the pipeline's one copy
 * remains. The bytes on the wire are the same RESP ioredis writes.
 *
 * Replies are Buffers (integers stay numbers), as with ioredis's `…Buffer` commands. Not for a
 * client with `keyPrefix` (ioredis would prefix the keys it sees; it sees none here): the caller
 * checks `canEncode` first.
 */
export class EncodedCommand extends Command {
  /**
   * `head`: the command's first arguments as ioredis would hold them (an EVALSHA's SHA, key count
   * and keys), for whatever reads `args` (debug logs, test doubles); never written.
   */
  constructor(
    name: string,
    head: readonly (string | Buffer | number)[],
    private readonly bytes: Buffer,
    lease?: { readonly slabs: SendSlabs; readonly slab: Slab },
  ) {
    super(name, [...head], { replyEncoding: null });
    if (lease) {
      this.lease = lease;
      // One hold until the command is settled: until then ioredis may write it again (a resend
      // after a reconnect). ioredis re-arms a settled command only in a Cluster's pipeline, and
      // no Cluster client is ever made (connect-redis.ts refuses cluster endpoints).
      const drop = this.drop;
      this.promise.then(drop, drop);
    }
  }

  /** The slab region `bytes` lies in (send-slabs.ts), given back when `holds` drops to 0. */
  private readonly lease: { readonly slabs: SendSlabs; readonly slab: Slab } | undefined;
  private holds = 1;
  private readonly drop = (): void => {
    if (--this.holds === 0 && this.lease) this.lease.slabs.give(this.lease.slab);
  };

  /**
   * Set by LuaScript.runAll on the commands of a pipeline that holds nothing but encoded commands,
   * just before it is sent: see toWritable.
   */
  direct = false;

  /** The encoded bytes themselves, before they are sent (a test rewrites a SHA in them: swap-evalsha.ts). */
  get encoded(): Buffer {
    return this.bytes;
  }

  /**
   * The bytes, for ioredis to write. `direct`: written here, straight to the socket ioredis hands
   * over, and nothing returned for ioredis to write. Why (issue #18): an ioredis pipeline copies every command's
   * bytes into one buffer before writing it, a second copy of each slice's payloads (~1 MiB a
   * slice) that was 4-5 % of a `move`'s or `run`'s CPU. Each command is still written the moment
   * ioredis sends it, in its order, before ioredis queues it for its reply; with nothing else in
   * the pipeline there is nothing it could be written out of order with (ioredis holds a plain
   * command's text back until the pipeline's last command: one in between would go out after).
   *
   * Bytes in a slab region (send-slabs.ts) are held by each direct write until its callback (libuv
   * reads them after `write` returns); ioredis, which gives no such callback, gets a copy.
   */
  override toWritable(): Buffer;
  override toWritable(socket: unknown): Buffer | string;
  override toWritable(socket?: unknown): Buffer | string {
    if (this.direct && isSocket(socket)) {
      if (this.lease) {
        this.holds++;
        socket.write(this.bytes, this.drop);
      } else socket.write(this.bytes);
      return '';
    }
    return this.lease ? Buffer.from(this.bytes) : this.bytes;
  }
}

function isSocket(value: unknown): value is { write(bytes: Buffer, written?: () => void): unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { write?: unknown }).write === 'function';
}

/** Whether commands for `redis` may be encoded here: not when ioredis must rewrite their keys. */
export function canEncode(redis: { options: { keyPrefix?: string | undefined } }): boolean {
  return !redis.options.keyPrefix;
}

/**
 * The RESP array of `parts`, then of `more` and `rest` (several lists, so that a caller never
 * builds another one just to join them): `*N\r\n` then `$LEN\r\nBYTES\r\n` per part; strings
 * in UTF-8, numbers as their text (as ioredis writes them).
 */
export function encodeCommand(parts: readonly CommandPart[], more: readonly CommandPart[] = [], rest: readonly CommandPart[] = []): Buffer {
  return encodeInto(Buffer.allocUnsafe, parts, more, rest);
}

/** encodeCommand into the buffer `alloc` returns for the command's length (every byte of it is written). */
export function encodeInto<B extends Buffer>(alloc: (length: number) => B, parts: readonly CommandPart[], more: readonly CommandPart[] = [], rest: readonly CommandPart[] = []): B {
  const count = parts.length + more.length + rest.length;
  const length = 1 + decimalLength(count) + 2 + partsLength(parts) + partsLength(more) + partsLength(rest);
  const out = alloc(length);
  let at = 0;
  out[at++] = 0x2a; // *
  at = writeDecimal(out, at, count);
  out[at++] = 0x0d;
  out[at++] = 0x0a;
  at = writeParts(out, at, parts);
  at = writeParts(out, at, more);
  at = writeParts(out, at, rest);
  if (at !== length) throw new Error(`encodeCommand: wrote ${at} bytes of ${length}`);
  return out;
}

function partsLength(parts: readonly CommandPart[]): number {
  let length = 0;
  for (let i = 0; i < parts.length; i++) length += partLength(parts[i]!);
  return length;
}

function writeParts(out: Buffer, at: number, parts: readonly CommandPart[]): number {
  for (let i = 0; i < parts.length; i++) at = writePart(out, at, parts[i]!);
  return at;
}

/** Bytes of one bulk string: `$`, its length's digits, CRLF, the bytes, CRLF. */
function partLength(part: CommandPart): number {
  // A Buffer's or a WrittenPart's `length` is its bytes'.
  const n = typeof part === 'string' ? Buffer.byteLength(part, 'utf8') : typeof part === 'number' ? numberText(part).length : part.length;
  return 1 + decimalLength(n) + 2 + n + 2;
}

/** A number as ioredis writes it: integers beyond 2^53 in full, not in exponent form. */
function numberText(n: number): string {
  return Number.isInteger(n) && !Number.isSafeInteger(n) ? BigInt(n).toString() : String(n);
}

// One function per kind of part, each seeing one type: a function taking strings and Buffers by
// turns was deoptimised again and again (ten times slower than these, measured).
function writePart(out: Buffer, at: number, part: CommandPart): number {
  if (typeof part === 'string') return writeText(out, at, part);
  if (typeof part === 'number') return writeText(out, at, numberText(part));
  if (part instanceof Uint8Array) return writeBytes(out, at, part);
  return writeWritten(out, at, part);
}

function writeWritten(out: Buffer, at: number, part: WrittenPart): number {
  const n = part.length;
  at = writeHeader(out, at, n);
  part.writeTo(out, at);
  at += n;
  out[at] = 0x0d;
  out[at + 1] = 0x0a;
  return at + 2;
}

function writeBytes(out: Buffer, at: number, bytes: Buffer): number {
  at = writeHeader(out, at, bytes.length);
  out.set(bytes, at);
  at += bytes.length;
  out[at] = 0x0d;
  out[at + 1] = 0x0a;
  return at + 2;
}

function writeText(out: Buffer, at: number, text: string): number {
  const n = Buffer.byteLength(text, 'utf8');
  at = writeHeader(out, at, n);
  if (n === text.length && n <= 16) {
    // ASCII (a UTF-8 length equal to the UTF-16 length means no unit above 0x7f): short texts
    // (indexes, scores, queue names) are cheaper written here than through a native call.
    for (let i = 0; i < n; i++) out[at + i] = text.charCodeAt(i);
  } else if (n === text.length) {
    // Longer ASCII (a move record's members, ~50–150 bytes, ~40 in a set call): latin1 writes
    // each unit as its byte, which for ASCII is its UTF-8. The loop above took 2.3× as long for
    // a whole set call's encoding as this (issue #18, measured in bench/README.md, audit-speed-gc).
    out.write(text, at, n, 'latin1');
  } else out.write(text, at, n, 'utf8');
  at += n;
  out[at] = 0x0d;
  out[at + 1] = 0x0a;
  return at + 2;
}

/** `$LEN\r\n`. */
function writeHeader(out: Buffer, at: number, n: number): number {
  out[at] = 0x24; // $
  at = writeDecimal(out, at + 1, n);
  out[at] = 0x0d;
  out[at + 1] = 0x0a;
  return at + 2;
}

function decimalLength(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

/** A non-negative integer's decimal digits at `at`; returns the offset past them. */
function writeDecimal(out: Buffer, at: number, n: number): number {
  const end = at + decimalLength(n);
  for (let i = end - 1; i >= at; i--) {
    out[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}
