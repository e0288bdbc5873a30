import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The Ruby baselines of this folder, run with the machine's `ruby` (Debian: `ruby`, `ruby-redis`). */
export const RUBY_SCRIPTS = {
  gitlab: fileURLToPath(new URL('./gitlab_algorithm.rb', import.meta.url)),
  handLoop: fileURLToPath(new URL('./hand_loop.rb', import.meta.url)),
  selectiveHandLoop: fileURLToPath(new URL('./selective_hand_loop.rb', import.meta.url)),
  timed: fileURLToPath(new URL('./timed.rb', import.meta.url)),
};

/** The Ruby to run: `ruby` on the PATH, or SIDEKIQ_MIGRATE_BENCH_RUBY (e.g. to check the rows of a machine without one). */
const RUBY = process.env.SIDEKIQ_MIGRATE_BENCH_RUBY ?? 'ruby';

/** `ruby` with the redis gem, or why the Ruby rows cannot run (they then say so; nothing crashes). */
export type RubyAvailability = { readonly ok: true; readonly version: string } | { readonly ok: false; readonly why: string };

export function rubyAvailability(): RubyAvailability {
  const probe = spawnSync(RUBY, ['-e', 'require "redis"; print "ruby #{RUBY_VERSION}, redis-rb #{Redis::VERSION}"'], { encoding: 'utf8' });
  if (probe.error) return { ok: false, why: `${RUBY} not found (${(probe.error as NodeJS.ErrnoException).code ?? probe.error.message}); install Debian's ruby and ruby-redis` };
  if (probe.status !== 0) return { ok: false, why: `ruby cannot load the redis gem (${probe.stderr.trim().split('\n')[0] ?? ''}); install ruby-redis` };
  return { ok: true, version: probe.stdout.trim() };
}

export interface RubyRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Spawn to exit: what a user waits for, Ruby's start-up included. */
  readonly wallMs: number;
  /** Stopped (SIGKILL) after `timeoutMs`, before it finished. */
  readonly timedOut: boolean;
}

/** Runs `ruby ARGS` to its end, or, with `timeoutMs`, until then (a baseline that may run for hours). */
export async function runRuby(args: readonly string[], timeoutMs?: number): Promise<RubyRun> {
  const started = process.hrtime.bigint();
  const child = spawn(RUBY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL'); // this child, by its pid
        }, timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).finally(() => clearTimeout(timer));
  return { code, stdout, stderr, wallMs: Number(process.hrtime.bigint() - started) / 1e6, timedOut };
}

/** The last JSON object line a baseline wrote on stderr (its summary). */
export function lastJsonLine<T>(text: string): T | null {
  const line = text.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  return line === undefined ? null : (JSON.parse(line) as T);
}
