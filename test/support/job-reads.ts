import type { Redis } from 'ioredis';

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
 * Watches, through MONITOR on `client` (a connection of its own, which it then keeps), every read
 * of jobs another client asks the server for, until `stop()`: for a process a test cannot wrap,
 * such as the CLI, how many jobs each read asked for. `stop` first sees a marker go through, so
 * that every command sent before it is counted.
 */
export async function monitorJobReads(client: Redis): Promise<{ reads: AskedRead[]; stop: () => Promise<AskedRead[]> }> {
  const reads: AskedRead[] = [];
  const monitor = await client.monitor();
  const marker = `job-reads-marker-${process.pid}-${Date.now()}`;
  let markerSeen: () => void = () => undefined;
  const seen = new Promise<void>((resolve) => (markerSeen = resolve));
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const [name, key, ...rest] = args;
    if (name === undefined) return;
    if (name.toLowerCase() === 'echo' && key === marker) markerSeen();
    if (source === 'lua' || !READS.has(name.toLowerCase())) return;
    reads.push({ command: name.toLowerCase(), key: key!, asked: askedOf(name.toLowerCase(), rest) });
  });
  return {
    reads,
    stop: async () => {
      const other = client.duplicate();
      await other.echo(marker);
      await seen;
      other.disconnect();
      monitor.disconnect();
      return reads;
    },
  };
}

function askedOf(command: string, args: string[]): number {
  const upper = args.map((a) => a.toUpperCase());
  if (command === 'zscan') {
    const at = upper.indexOf('COUNT');
    return at < 0 ? 10 : Number(args[at + 1]);
  }
  if (command === 'zrangebyscore') {
    const at = upper.indexOf('LIMIT');
    return at < 0 ? Infinity : Number(args[at + 2]);
  }
  const [start, stop] = [Number(args[0]), Number(args[1])];
  // Indexes of one sign count from the same end; mixed signs depend on the length: unbounded.
  return Math.sign(start) === Math.sign(stop) || start === 0 ? (start === 0 && stop < 0 ? Infinity : stop - start + 1) : Infinity;
}
