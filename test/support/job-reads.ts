import { connect } from 'node:net';
import { Redis } from 'ioredis';

/** The commands that read jobs in bulk (a range of a list or sorted set, a scan of a set). */
const READS = new Set(['lrange', 'zrange', 'zrangebyscore', 'zscan']);

/** One read of jobs as a client sent it and Redis answered it. */
export interface JobRead {
  readonly command: string;
  readonly key: string;
  /** Members in the reply (a ZSCAN's or WITHSCORES's scores not counted). */
  readonly jobs: number;
  /** Bytes of those members. */
  readonly bytes: number;
}

/**
 * Records every read of jobs `redis` sends from now on, pipelined or not, with what its reply
 * held: a test sees how much one read carried, not only how many commands went out.
 */
export function recordJobReads(redis: Redis): JobRead[] {
  const reads: JobRead[] = [];
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], ...rest: unknown[]) => {
    const name = command.name.toLowerCase();
    if (READS.has(name)) {
      const key = String(command.args[0]);
      const pairs = name === 'zscan' || command.args.some((a) => String(a).toUpperCase() === 'WITHSCORES');
      void command.promise.then(
        (reply: unknown) => {
          // A command queued in a MULTI answers 'QUEUED' here (its reply comes with EXEC): not counted.
          if (!Array.isArray(reply)) return;
          const flat = (name === 'zscan' ? (reply as [unknown, unknown[]])[1] : reply) as Buffer[] | string[];
          const members = pairs ? flat.filter((_, i) => i % 2 === 0) : flat;
          reads.push({ command: name, key, jobs: members.length, bytes: members.reduce((n: number, m) => n + Buffer.byteLength(m), 0) });
        },
        () => undefined,
      );
    }
    return (send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as Redis['sendCommand'];
  return reads;
}

/** A read of jobs a client asked for, as MONITOR shows it (commands Lua scripts send left out). */
export interface AskedRead {
  readonly command: string;
  readonly key: string;
  /** How many members it asked for at most: a range's length, ZSCAN's COUNT, a LIMIT's count. */
  readonly asked: number;
}

/**
 * Watches, through MONITOR on a connection of its own to `url`, every read of jobs other clients
 * ask the server for, until `stop()`: for code a test cannot wrap, such as the CLI, how many jobs
 * each read asked for. A raw socket (ioredis's monitor mode loses its footing under a burst of
 * large commands), of which only each line's first arguments are parsed. `stop` first sees a
 * marker go through, so that every command sent before it is counted.
 */
export async function monitorJobReads(url: string): Promise<{ stop: () => Promise<AskedRead[]> }> {
  const { hostname, port } = new URL(url);
  const reads: AskedRead[] = [];
  const marker = `job-reads-marker-${process.pid}-${Date.now()}`;
  let markerSeen: () => void = () => undefined;
  const seen = new Promise<void>((resolve) => (markerSeen = resolve));
  const socket = connect(Number(port), hostname);
  let started: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (started = resolve));
  const onLine = (line: string) => {
    if (line === '+OK') started();
    const parsed = /^\+[\d.]+ \[\d+ ([^\]]+)\] (.*)$/s.exec(line);
    if (!parsed) return;
    const [name, key, ...rest] = firstArguments(parsed[2]!, 8);
    if (name === undefined) return;
    if (name.toLowerCase() === 'echo' && key === marker) markerSeen();
    if (parsed[1] === 'lua' || !READS.has(name.toLowerCase())) return;
    reads.push({ command: name.toLowerCase(), key: key!, asked: askedOf(name.toLowerCase(), rest) });
  };
  // Only the head of each line is kept: a read's arguments are short, a write's may be megabytes
  // (MONITOR escapes their line breaks, so a raw one ends a line).
  const HEAD = 512;
  let head = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    for (let from = 0; ; ) {
      const end = chunk.indexOf('\n', from);
      if (head.length < HEAD) head += chunk.slice(from, Math.min(end < 0 ? chunk.length : end, from + HEAD - head.length));
      if (end < 0) return;
      onLine(head.replace(/\r$/, ''));
      head = '';
      from = end + 1;
    }
  });
  socket.write('MONITOR\r\n');
  await ready;
  return {
    stop: async () => {
      const other = new Redis(url);
      await other.echo(marker);
      await seen;
      other.disconnect();
      socket.destroy();
      return reads;
    },
  };
}

/** The first `n` quoted arguments of a MONITOR line (escapes undone only as far as `\"` and `\\`). */
function firstArguments(text: string, n: number): string[] {
  const found: string[] = [];
  let i = 0;
  while (found.length < n && i < text.length) {
    if (text[i] !== '"') {
      i++;
      continue;
    }
    let value = '';
    for (i++; i < text.length && text[i] !== '"'; i++) value += text[i] === '\\' ? text[++i] : text[i];
    found.push(value);
    i++;
  }
  return found;
}

function askedOf(command: string, args: string[]): number {
  const upper = args.map((a) => a.toUpperCase());
  if (command === 'zscan') {
    const at = upper.indexOf('COUNT');
    return at < 0 ? 10 : Number(args[at + 1]);
  }
  if (command === 'zrangebyscore' || (command === 'zrange' && (upper.includes('BYSCORE') || upper.includes('BYLEX')))) {
    const at = upper.indexOf('LIMIT');
    return at < 0 ? Infinity : Number(args[at + 2]);
  }
  const [start, stop] = [Number(args[0]), Number(args[1])];
  // Indexes of one sign count from the same end; mixed signs depend on the length: unbounded.
  return Math.sign(start) === Math.sign(stop) || start === 0 ? (start === 0 && stop < 0 ? Infinity : stop - start + 1) : Infinity;
}
