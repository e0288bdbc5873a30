/**
 * A Sidekiq timestamp in seconds. Sidekiq ≤ 7 writes Float seconds; Sidekiq 8 writes Integer
 * milliseconds for job timestamps. Anything above 1e11 (the year 5138 in seconds, 1973 in
 * milliseconds) is taken as milliseconds, which tells the two apart for every plausible date.
 */
export function epochSeconds(value: number | string | null | undefined): number | null {
  const n = typeof value === 'string' ? Number(value) : value;
  if (n === null || n === undefined || !Number.isFinite(n) || n <= 0) return null;
  return n > 1e11 ? n / 1000 : n;
}
