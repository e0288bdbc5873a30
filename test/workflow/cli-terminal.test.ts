import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { bufferIo } from '../support/buffer-io.js';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { TerminalScreen } from '../support/terminal-screen.js';

// What an operator sees at GitLab's scale (one queue per worker, ~500): progress that stays a
// few lines redrawn in place, and a summary that fits the terminal (issue 15).
const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-terminal-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ A: 'new' }));

const QUEUES = 500;
const queueName = (i: number) => `old_${String(i).padStart(3, '0')}`;

/** 500 queues of 4 jobs of class A each, 3 of them with a job of class B (no destination), and 20 scheduled. */
async function seed(): Promise<{ key: string; payload: string; score?: string }[]> {
  const pipeline = redis.client().pipeline();
  for (let i = 0; i < QUEUES; i++) {
    const q = queueName(i);
    for (let j = 0; j < 4; j++) pipeline.rpush(`queue:${q}`, sidekiqPayload({ className: 'A', queue: q, args: `[${i},${j}]` }));
    if (i % 200 === 0) pipeline.rpush(`queue:${q}`, sidekiqPayload({ className: 'B', queue: q, args: `[${i}]` }));
  }
  for (let i = 0; i < 20; i++) pipeline.zadd('schedule', String(2e9 + i), sidekiqPayload({ className: 'A', queue: queueName(i), args: `["s${i}"]` }));
  await pipeline.exec();
  return allJobs(redis.client(), '');
}

/** Where each job must be after the run: class A on queue:new (or in schedule, its queue changed), class B where it was. */
function expected(before: { key: string; payload: string; score?: string }[]): string[] {
  return before
    .map((j) => {
      if (!j.payload.includes('"class":"A"')) return j;
      const payload = j.payload.replace(/"queue":"old_\d{3}"/, '"queue":"new"');
      return j.key === 'schedule' ? { ...j, payload } : { key: 'queue:new', payload };
    })
    .map((j) => `${j.key}\t${j.payload}\t${j.score ?? ''}`)
    .sort();
}

const after = async () => (await allJobs(redis.client(), '')).filter((j) => !j.key.startsWith('sidekiq-migrate:')).map((j) => `${j.key}\t${j.payload}\t${j.score ?? ''}`).sort();

/** Runs the built CLI in an 80×24 pseudo-terminal; returns its exit code and every byte it printed. */
function inTerminal(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const file = join(dir, `pty-${Date.now()}.out`);
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [repoPath('test/support/pty-run.py'), '80', '24', file, '--', process.execPath, repoPath('bin/sidekiq-migrate.js'), ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output: readFileSync(file, 'utf8') }));
  });
}

describe('on a terminal, at 500 queues', () => {
  it('run: progress never holds more than a screen and no line is wider than 80 columns; the summary fits too', async () => {
    const before = await seed();

    const { code, output } = await inTerminal(['run', '--redis', redis.url(), '--mapping', mappingFile, '--page-size', '2']);

    expect(code).toBe(0);
    expect(await after()).toEqual(expected(before));
    const start = output.indexOf('Re-route redis://');
    expect(start).toBeGreaterThan(0);
    const screen = new TerminalScreen();
    screen.write(output.slice(0, start));
    // The progress was redrawn in place: a few lines at any moment, never one per queue.
    expect(screen.widest).toBeLessThanOrEqual(80);
    expect(screen.mostLinesHeld).toBeLessThanOrEqual(10);
    expect(output.match(/\x1b\[\d+F/g)?.length ?? 0).toBeGreaterThan(QUEUES);
    const progress = screen.text().filter(Boolean);
    if (process.env['SHOW_SCREEN']) console.log(`most lines held ${screen.mostLinesHeld}, widest ${screen.widest}, ${output.length} characters printed`);
    expect(progress.at(-1)).toBe(`Items: ${QUEUES + 3} done · 0 in progress · 0 waiting · 0 failed`);
    expect(progress).toContain('maxmemory-policy: source noeviction');
    expect(progress.at(-2)).toMatch(/^Jobs 2,023 of 2,023 \(100%\) · 2,020 moved · [\d,]+\/s$/);

    const summaryFrom = screen.cursorRow;
    screen.write(output.slice(start));
    const summary = screen.text().slice(summaryFrom);
    while (summary.at(-1) === '') summary.pop();
    if (process.env['SHOW_SCREEN']) console.log(`summary: ${summary.length} lines, widest ${Math.max(...summary.map((l) => [...l].length))}`);
    expect(screen.widest).toBeLessThanOrEqual(80);
    expect(summary.length).toBeLessThanOrEqual(40);
    expect(summary.join('\n')).toContain(`queues (${QUEUES})`);
    expect(summary.join('\n')).toContain(`… and ${QUEUES + 3 - 10} more (--verbose)`);
    expect(summary.join('\n')).toMatch(/Left in place, no destination for their class: B 3/);
    expect(summary.slice(-2).join(' ').replace(/\s+/g, ' ')).toBe('Done, but jobs were left behind: 3 left in place, 3 of them where nobody fetches (see "Needs a look" above).');
  });
  it('run 2>run.log on a terminal: the log gets plain progress lines (each queue named), not the terminal view\'s cursor moves; the summary is on the terminal', async () => {
    const before = await seed();
    const log = join(dir, 'run.log');

    const { code, output } = await inTerminal(['run', '--redis', redis.url(), '--mapping', mappingFile, '--page-size', '2'], { PTY_RUN_STDERR: log });

    expect(code).toBe(0);
    expect(await after()).toEqual(expected(before));
    const written = readFileSync(log, 'utf8');
    expect(written).not.toContain('\x1b');
    const lines = written.trimEnd().split('\n');
    expect(lines[0]).toBe('maxmemory-policy: source noeviction');
    expect(lines.slice(1).every((l) => /^(schedule|retry|dead|queue:old_\d{3}) +\[[#-]{24}\] +\d+ seen +\d+ moved/.test(l))).toBe(true);
    expect(new Set(lines.filter((l) => l.startsWith('queue:old_')).map((l) => l.split(' ')[0])).size).toBe(QUEUES);
    expect(output.replace(/\s+/g, ' ')).toContain('Done, but jobs were left behind: 3 left in place, 3 of them where nobody fetches (see "Needs a look" above).');
  });
});

describe('the summary at 500 queues', () => {
  const run = async (interactive: boolean, ...extra: string[]) => {
    const io = { ...bufferIo(interactive), columns: 80 };
    const code = await main(['node', 'sidekiq-migrate', 'run', '--redis', redis.url(), '--mapping', mappingFile, ...extra], io);
    return { code, stdout: io.stdout() };
  };

  it('fits 80 columns in at most 40 lines, with the 10 largest sets and queues; --verbose lists every queue', async () => {
    await seed();
    const terminal = await run(true, '--dry-run');
    const verbose = await run(false, '--dry-run', '--verbose');

    expect(terminal.code).toBe(0);
    const lines = terminal.stdout.trimEnd().split('\n');
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(80);
    expect(lines.length).toBeLessThanOrEqual(40);
    expect(lines).toContain(`Largest sets and queues (10 of ${QUEUES + 3}), by moved:`);
    // schedule (20 moved) and the 9 largest queues (4 or 5 jobs each, 4 moved).
    expect(lines.filter((l) => /^(schedule|queue:old_\d{3}) /.test(l))).toHaveLength(10);

    expect(verbose.code).toBe(0);
    const rows = verbose.stdout.split('\n').filter((l) => /^queue:old_\d{3} /.test(l));
    expect(rows.map((l) => l.split(' ')[0]).sort()).toEqual(Array.from({ length: QUEUES }, (_, i) => `queue:${queueName(i)}`));
    expect(verbose.stdout).not.toContain('(--verbose)');
    expect(verbose.stdout).toContain('Jobs left in place (unmapped, unparsable, conflicts) by set and queue: queue:old_000 1 · queue:old_200 1 · queue:old_400 1\n');
  });
});
