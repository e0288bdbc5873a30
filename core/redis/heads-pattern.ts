import { escapeGlob } from '../reroute/discover-queues.js';

/**
 * The SCAN MATCH that keeps every key starting with one of `heads` and as few others as a glob can:
 * their common start, then one class of characters per position up to the shortest head, then `*`.
 * Under no prefix (GitLab's layout since 16.7) `queue:`, `cron_jobs:` and `sidekiq-migrate:` have
 * no common start: `*` sent every key of the database back to the walk (millions of caches and
 * duplicate-job digests), where `[cqs][iru]…*` sends back almost none of them. Redis matches bytes:
 * the classes stop at a character outside ASCII. `*` when a head is '' (that look wants every key).
 */
export function headsPattern(heads: readonly string[]): string {
  if (heads.length === 0 || heads.includes('')) return '*';
  const start = commonStart(heads);
  const shortest = Math.min(...heads.map((h) => h.length));
  let classes = '';
  for (let i = start.length; i < shortest; i++) {
    const chars = [...new Set(heads.map((h) => h[i]!))].sort();
    if (chars.some((c) => c.charCodeAt(0) > 0x7f)) break;
    // Every character escaped: in a class too, Redis reads `\x` as x (`^`, `-`, `]` included).
    classes += chars.length === 1 ? escapeGlob(chars[0]!) : `[${chars.map((c) => `\\${c}`).join('')}]`;
  }
  return `${escapeGlob(start)}${classes}*`;
}

/** The longest start every one of `heads` shares ('' when none, or one is ''). */
export function commonStart(heads: readonly string[]): string {
  if (heads.length === 0) return '';
  let start = heads[0]!;
  for (const head of heads) while (!head.startsWith(start)) start = start.slice(0, -1);
  // Not half of a character outside the BMP (its UTF-8 bytes would be no start of the heads').
  return /[\uD800-\uDBFF]$/.test(start) ? start.slice(0, -1) : start;
}
