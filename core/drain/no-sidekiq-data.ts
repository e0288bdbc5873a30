import type { DrainReport } from './drain-report.js';

/**
 * DrainReport.noSidekiqData, from the look for Sidekiq data made before the check
 * (checkSidekiqPrefixLook's `hasData`) and what the check itself then found. The look comes first:
 * the first job ever pushed between it and the check's reads made the verdict line contradict
 * itself ("1 job(s) left: no Sidekiq data at all there"). Said only when the check found nothing
 * of Sidekiq's either: no queue, set entry, process, job held anywhere, cron definition or other prefix.
 */
export function withNoSidekiqData(checked: DrainReport, hasData: boolean | 'unknown'): DrainReport {
  return hasData === false && checkFoundNothing(checked) ? { ...checked, noSidekiqData: true } : checked;
}

function checkFoundNothing(report: DrainReport): boolean {
  const { live, quiet, stale } = report.processes;
  return (
    report.remaining === 0 &&
    report.queues.length === 0 &&
    Object.values(report.sets).every((s) => s.total === 0) &&
    live + quiet + stale === 0 &&
    report.inflight.length === 0 &&
    (report.quarantine ?? []).length === 0 &&
    (report.fetched ?? []).length === 0 &&
    (report.cron ?? []).length === 0 &&
    (report.otherPrefixes ?? []).length === 0
  );
}
