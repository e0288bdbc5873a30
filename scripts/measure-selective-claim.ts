// Measures the per-call time of claimSelectedQueueJobs-11.lua (the class-selective claim out of the
// middle of a list) at a given distance from the list's nearer end, as Redis itself reports it
// (SLOWLOG, microseconds of script execution, no network). Starts its own redis-server.
//   npx tsx scripts/measure-selective-claim.ts [LIST_LENGTH] [PICKS] [REPEATS]
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startRedisServer } from '../cli/support/redis-server-process.js';
import { LuaScript } from '../core/redis/lua-script.js';

const length = Number(process.argv[2] ?? 2_000_000);
const picks = Number(process.argv[3] ?? 10);
const repeats = Number(process.argv[4] ?? 5);
const claim = new LuaScript('claimSelectedQueueJobs-11');
const server = await startRedisServer();
const redis = new Redis(server.url, { protocol: 2 });
try {
  const payload = (i: number) => `{"retry":true,"queue":"default","args":[${i}],"class":"${i % 10 === 0 ? 'Move' : 'Stay'}","jid":"${i.toString(16).padStart(24, '0')}","created_at":1795459303.8459766}`;
  for (let i = 0; i < length; i += 10_000) {
    const chunk = Array.from({ length: Math.min(10_000, length - i) }, (_, j) => payload(i + j));
    await redis.lpush('queue:default', ...chunk);
  }
  await redis.config('SET', 'slowlog-log-slower-than', '0');
  for (const offset of [1_000, 100_000, 1_000_000].filter((o) => o + 100 < length)) {
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) {
      // `picks` members spread over a window of 10·picks jobs at that tail offset, as a slice picks them.
      const window = (await redis.lrangeBuffer('queue:default', -(offset + 10 * picks), -(offset + 1))).reverse();
      const args: (string | number | Buffer)[] = [randomUUID(), 256 + 10 * picks, `marker:${randomUUID()}`, 'measure', '', length, 0, ''];
      for (let p = 0; p < picks; p++) args.push(offset + 10 * p, window[10 * p]!);
      await redis.slowlog('RESET');
      const [claimed] = (await claim.run(redis, { keys: ['queue:default', 'inflight', 'batch', 'stopped', 'lock', 'originals', 'inflight-keys'], args })) as [number];
      if (claimed !== picks) throw new Error(`claimed ${claimed} of ${picks}`);
      const log = (await redis.slowlog('GET', 10)) as [number, number, number, string[]][];
      const evalsha = log.find((entry) => String(entry[3][0]).toLowerCase() === 'evalsha');
      times.push(evalsha![2]);
      await redis.del('inflight', 'batch');
    }
    times.sort((a, b) => a - b);
    const nearer = Math.min(offset, length - offset);
    console.log(`list ${length}, ${picks} jobs claimed around tail offset ${offset} (${nearer} from the nearer end): median ${times[Math.floor(times.length / 2)]} µs, min ${times[0]} µs, max ${times.at(-1)} µs over ${repeats} calls`);
  }
} finally {
  redis.disconnect();
  await server.stop();
}
