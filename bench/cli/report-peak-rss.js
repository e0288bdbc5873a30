// Loaded with `node --import` into each CLI process the CLI benchmark starts (cli-process.ts): at
// exit, writes the process's peak RSS over its whole life (getrusage ru_maxrss, KiB) and its CPU
// time (user + system, µs) as JSON to the file SIDEKIQ_MIGRATE_BENCH_RSS_FILE names. A file, so
// that the CLI's own output stays untouched.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  const usage = process.resourceUsage();
  writeFileSync(process.env.SIDEKIQ_MIGRATE_BENCH_RSS_FILE, JSON.stringify({ maxRSS: usage.maxRSS, cpuMicros: usage.userCPUTime + usage.systemCPUTime }));
});
