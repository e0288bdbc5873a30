import type { Redis } from 'ioredis';

/**
 * Every command the `source` and `target` servers ran while `during` ran (MONITOR on each; on one
 * when both are the same client, its commands said as the source's), as
 * `['source' | 'target', NAME, ARGS…]`, but those of the client at `unseen` (host:port, as MONITOR
 * names it: another run's, set up by the test).
 */
export async function commandsDuring<T>(servers: { readonly source: Redis; readonly target: Redis }, during: () => Promise<T>, unseen?: string): Promise<{ result: T; commands: string[][] }> {
  const commands: string[][] = [];
  // One server for both sides (the same client): one monitor. A second one's connection sent its
  // ready check (INFO) while the first was entering monitor mode, and over TLS ioredis could get
  // that feed line in the same read as MONITOR's OK: "Command queue state error" (a flake of
  // cli-credentials-tls under load).
  const monitors = await Promise.all(servers.source === servers.target ? [servers.source.monitor()] : [servers.source.monitor(), servers.target.monitor()]);
  monitors.forEach((m, i) => m.on('monitor', (_time: string, args: string[], from: string) => from !== unseen && commands.push([i === 0 ? 'source' : 'target', ...args])));
  try {
    return { result: await during(), commands };
  } finally {
    for (const m of monitors) m.disconnect();
  }
}

/**
 * The commands among `commands` (commandsDuring's) that write: flagged `write` by the server
 * (COMMAND INFO, asked of `server`), and scripts run (EVALSHA, EVAL, FCALL), but the permission
 * check's probes of an all-zero SHA1, which run nothing (NOSCRIPT). Each as its first `shown`
 * words (side, name, arguments), joined by spaces.
 */
export async function writesAmong(server: Redis, commands: readonly string[][], shown: number): Promise<string[]> {
  const names = [...new Set(commands.map((c) => c[1]!.toLowerCase()))];
  const infos = (await server.call('COMMAND', 'INFO', ...names)) as ([string, number, string[]] | null)[];
  const writing = new Set(infos.flatMap((info) => (info && info[2].includes('write') ? [info[0].toLowerCase()] : [])));
  const script = (c: readonly string[]) => ['eval', 'evalsha', 'evalsha_ro', 'eval_ro', 'fcall'].includes(c[1]!.toLowerCase()) && !/^0{40}$/.test(c[2] ?? '');
  return commands.filter((c) => writing.has(c[1]!.toLowerCase()) || script(c)).map((c) => c.slice(0, shown).join(' '));
}
