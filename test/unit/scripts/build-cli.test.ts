import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { repoPath } from '../../support/paths.js';

// dist/ is updated in place while other vitest processes of the checkout run the CLI from it
// (58d2ff69): a CLI started mid-build must find every file the entry it loads needs, and a build
// killed mid-write must not leave its temporary files in dist/ (npm pack ships dist/ whole).
const renamed: string[] = [];
let rewriteAll = false;
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const renameSync: typeof fs.renameSync = (from, to) => {
    renamed.push(String(to));
    fs.renameSync(from, to);
  };
  // Every file written again, as when every source changed.
  const existsSync: typeof fs.existsSync = (path) => (rewriteAll && String(path).startsWith(repoPath('dist/')) && !String(path).endsWith('dist/') ? false : fs.existsSync(path));
  return { ...fs, default: { ...fs, renameSync, existsSync }, renameSync, existsSync };
});
const { buildCli } = await import('../../../scripts/build-cli.js');

const dist = repoPath('dist');
const entry = join(dist, 'sidekiq-migrate.js');

describe('build-cli: dist/ in place', { timeout: 120_000 }, () => {
  it('writes the entry last: its chunks and Lua files are there before a CLI can load it', async () => {
    renamed.length = 0;
    rewriteAll = true;
    try {
      await buildCli();
    } finally {
      rewriteAll = false;
    }
    const at = renamed.indexOf(entry);
    expect(at).toBeGreaterThanOrEqual(0);
    const needed = renamed.filter((p) => p.startsWith(join(dist, 'chunks')) || p.startsWith(join(dist, 'lua')));
    expect(needed.length).toBeGreaterThan(10);
    expect(renamed.slice(at + 1).filter((p) => needed.includes(p))).toEqual([]);
  });

  it("removes a killed build's temporary files, not those of a build still running", async () => {
    const dead = 2 ** 22 + 12_345; // above Linux's default pid_max (2^22): no such process
    const stale = join(dist, 'chunks', `chunk-STALE.js.${dead}.tmp`);
    const live = join(dist, 'chunks', `chunk-LIVE.js.${process.ppid}.tmp`);
    writeFileSync(stale, 'half');
    writeFileSync(live, 'half');
    try {
      await buildCli();
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(live)).toBe(true);
      expect(readdirSync(join(dist, 'chunks')).filter((f) => f.endsWith('.tmp'))).toEqual([`chunk-LIVE.js.${process.ppid}.tmp`]);
    } finally {
      for (const f of [stale, live]) if (existsSync(f)) (await import('node:fs')).rmSync(f);
    }
  });
});
