import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

/**
 * Issue 18's own figures were measured with "Redis and client pinned to separate cores (2-core
 * machine)"; `--pin` reproduces that. Off by default: on a shared machine a pinned process cannot
 * leave a core that others keep busy, and the round-trip-bound baseline suffers most.
 *
 * With pinning on, the Redis servers run on core 0 and every client on core 1: this process pins itself (all its threads) to core 1 before it starts anything, so every process it
 * spawns — ours in process, `sidekiq-migrate run|move`, Ruby — inherits core 1; each redis-server is
 * moved to core 0 (all its threads) right after it starts. The delay proxies stand for the network,
 * not for either host: they get back the cores this process had. `taskset` is util-linux's.
 */
export interface Pinning {
  readonly on: boolean;
  /** For the header: what was pinned where, or why nothing was. */
  readonly description: string;
  /** Puts a redis-server (all its threads) on the server core. */
  server(pid: number): void;
  /** Gives a process that stands for the network (a delay proxy) every core this process had. */
  network(pid: number): void;
  /** Gives this process its cores back (the bench's later parts run unpinned). */
  release(): void;
}

const SERVER_CORE = '0';
const CLIENT_CORE = '1';

/** `taskset -a -c -p LIST PID`: the affinity of every thread of PID; the error when it failed. */
function setAffinity(pid: number, list: string): string | null {
  const r = spawnSync('taskset', ['-a', '-c', '-p', list, String(pid)], { encoding: 'utf8' });
  if (r.error) return r.error.message;
  return r.status === 0 ? null : r.stderr.trim() || `exit ${r.status}`;
}

/** The CPU list a process may run on (`taskset -c -p PID`), or null. */
function affinityOf(pid: number | '$$'): string | null {
  // '$$': a child shell's own affinity, i.e. what a process spawned from here inherits.
  const r = pid === '$$' ? spawnSync('sh', ['-c', 'taskset -c -p $$'], { encoding: 'utf8' }) : spawnSync('taskset', ['-c', '-p', String(pid)], { encoding: 'utf8' });
  return r.status === 0 ? (/affinity list:\s*(\S+)/.exec(r.stdout)?.[1] ?? null) : null;
}

const off = (description: string): Pinning => ({ on: false, description, server: () => {}, network: () => {}, release: () => {} });

/** Pins this process to the client core when `wanted` and possible; otherwise says why not (and pins nothing). */
export function startPinning(wanted: boolean, log: (line: string) => void): Pinning {
  if (!wanted) return off('not pinned (--pin pins Redis to core 0 and the clients to core 1): the kernel places them');
  const probe = spawnSync('taskset', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const why = 'not pinned: taskset (util-linux) not found; Redis and the clients run wherever the kernel puts them';
    log(why);
    return off(why);
  }
  const original = affinityOf(process.pid);
  const cores = original === null ? [] : expand(original);
  if (cpus().length < 2 || !cores.includes(0) || !cores.includes(1)) {
    const why = `not pinned: this process may run on cores ${original ?? '?'} of ${cpus().length}; pinning needs cores 0 and 1`;
    log(why);
    return off(why);
  }
  const failed = setAffinity(process.pid, CLIENT_CORE);
  const inherited = affinityOf('$$');
  if (failed !== null || inherited !== CLIENT_CORE) {
    if (failed === null) setAffinity(process.pid, original!);
    const why = `not pinned: could not pin this process to core ${CLIENT_CORE} (${failed ?? `a child got cores ${inherited ?? '?'}`})`;
    log(why);
    return off(why);
  }
  const problems: string[] = [];
  const place = (what: string, pid: number, list: string) => {
    const error = setAffinity(pid, list);
    const now = affinityOf(pid);
    if (error !== null || now !== list) {
      problems.push(`${what} ${pid}: ${error ?? `on cores ${now ?? '?'}`}`);
      log(`pinning: ${problems.at(-1)!}`);
    }
  };
  return {
    on: true,
    get description() {
      return (
        `pinned with taskset: redis-server(s) on core ${SERVER_CORE}, every client (ours in process, sidekiq-migrate, ruby) on core ${CLIENT_CORE}, ` +
        `delay proxies on cores ${original!}` +
        (problems.length > 0 ? `; NOT as planned: ${problems.join('; ')}` : '')
      );
    },
    server: (pid) => place('redis-server', pid, SERVER_CORE),
    network: (pid) => place('delay proxy', pid, original!),
    release: () => void setAffinity(process.pid, original!),
  };
}

/** "0-3,6" → [0, 1, 2, 3, 6]. */
function expand(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) return [];
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}
