/**
 * A span of time as a drain check's words say it: seconds up to 2 minutes, minutes up to 2 hours,
 * then hours with a decimal (`45 s`, `33 min`, `24.0 h`). A retry due in three weeks said in
 * seconds (`1814400 s`) is a number to work out, not a time an operator reads.
 */
export function timeSpan(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
