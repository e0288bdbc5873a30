import { readFileSync } from 'node:fs';
import { repoPath } from '../../support/paths.js';

/** A row of redis-move.md's *What a transfer leaves behind*: a kind of key and where it may be. */
export interface LeftoverRow {
  readonly kind: string;
  readonly where: 'old' | 'new' | 'both';
  readonly whatToDo: string;
}

/** The table's rows by kind (`sidekiq-migrate:<run>:inflight:…`, as the `leftovers` block prints kinds). */
export function leftoverTable(): Map<string, LeftoverRow> {
  const text = readFileSync(repoPath('docs/runbooks/redis-move.md'), 'utf8');
  const section = text.split('### What a transfer leaves behind')[1]!.split('\n## ')[0]!;
  const rows = new Map<string, LeftoverRow>();
  for (const line of section.split('\n')) {
    const cells = /^\| `([^`]+)` \| (old|new|both) \|/.test(line) ? line.split(' | ') : null;
    if (!cells) continue;
    const kind = cells[0]!.replace(/^\| `|`$/g, '');
    rows.set(kind, { kind, where: cells[1] as LeftoverRow['where'], whatToDo: cells.at(-1)!.replace(/ \|$/, '') });
  }
  return rows;
}

/** What the `leftovers` block prints: per side, each kind with its count (`unknown: KEY` lines too). */
export function printedKinds(stdout: string): { side: 'old' | 'new'; kind: string; count: number }[] {
  const found: { side: 'old' | 'new'; kind: string; count: number }[] = [];
  let side: 'old' | 'new' | undefined;
  for (const line of stdout.split('\n')) {
    if (line === 'old Redis:' || line === 'new Redis:') side = line.startsWith('old') ? 'old' : 'new';
    const counted = /^\s*(\d+) (.+)$/.exec(line);
    if (counted && side) found.push({ side, kind: counted[2]!, count: Number(counted[1]) });
  }
  return found;
}

/** The kind the `leftovers` block prints for `key` (under `prefix`): its classification, in TypeScript. */
export function kindOf(prefix: string, key: string): string {
  const rest = key.slice(`${prefix}sidekiq-migrate:`.length);
  if (rest === 'lock' || rest === 'target-id' || rest === 'ledgers' || rest === 'inflight-keys') return `sidekiq-migrate:${rest}`;
  if (/^(quarantine|drain-check):./.test(rest)) return `sidekiq-migrate:${rest.split(':')[0]}:…`;
  const parts = rest.split(':');
  if (parts.length >= 3 && parts.slice(2).join(':') !== '') return `sidekiq-migrate:<run>:${parts[1]}:…`;
  if (parts.length === 2 && parts[1] !== '') return `sidekiq-migrate:<run>:${parts[1]}`;
  return `unknown: ${key}`;
}
