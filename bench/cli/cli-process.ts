import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/sidekiq-migrate.js', import.meta.url));
const RSS_REPORTER = fileURLToPath(new URL('./report-peak-rss.js', import.meta.url));

/** One `sidekiq-migrate` process, as an operator starts it, measured from spawn to exit. */
export interface CliMeasurement {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Spawn to exit. */
  readonly wallMs: number;
  /** Spawn to the first progress line of a page (stderr, "… moved"), when there was one. */
  readonly firstPageMs: number | null;
  /** Peak RSS over the process's whole life (ru_maxrss). */
  readonly peakRssBytes: number;
  /**
   * CPU time (user + system, all its threads) over its whole life: on a loaded machine a closer
   * estimate of an idle machine's start-up than the wall time, which includes waiting for a core.
   */
  readonly cpuMs: number;
}

/**
 * Runs `node bin/sidekiq-migrate.js ARGS` (the compiled CLI when dist/ is built); `bin`: another
 * build's entry (scripts/compare-cli-builds.ts times two builds side by side).
 */
export async function measureCli(args: readonly string[], bin = BIN): Promise<CliMeasurement> {
  const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-bench-cli-'));
  const rssFile = join(dir, 'peak-rss');
  try {
    const started = process.hrtime.bigint();
    const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
    const child = spawn(process.execPath, ['--import', RSS_REPORTER, bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SIDEKIQ_MIGRATE_BENCH_RSS_FILE: rssFile },
    });
    let stdout = '';
    let stderr = '';
    let firstPageMs: number | null = null;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (firstPageMs === null && / moved/.test(stderr)) firstPageMs = elapsedMs();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    const wallMs = elapsedMs();
    const usage = JSON.parse(readFileSync(rssFile, 'utf8')) as { maxRSS: number; cpuMicros: number };
    return { code, stdout, stderr, wallMs, firstPageMs, peakRssBytes: usage.maxRSS * 1024, cpuMs: usage.cpuMicros / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
