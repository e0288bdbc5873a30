import { randomBytes } from 'node:crypto';

export interface JobSpec {
  readonly className: string;
  readonly queue?: string | null;
  /** Raw JSON text of the args array, so that `1.0` or 2**64 stay exactly as written. */
  readonly args?: string;
  readonly jid?: string;
  readonly wrapped?: string;
  /** Raw JSON members appended at the end, e.g. `"retry_count":0`. */
  readonly extra?: string;
}

export const newJid = (): string => randomBytes(12).toString('hex');

/**
 * A payload as Sidekiq 6's client writes it: compact, keys in perform_async's order, Ruby's
 * number formats. Built as text so that nothing is normalised by JSON.stringify.
 */
export function sidekiqPayload(spec: JobSpec): string {
  const members = ['"retry":true'];
  if (spec.queue !== null) members.push(`"queue":${JSON.stringify(spec.queue ?? 'default')}`);
  if (spec.wrapped !== undefined) members.push(`"wrapped":${JSON.stringify(spec.wrapped)}`);
  members.push(`"args":${spec.args ?? '[1,1.0,4611686018427387905,"héllo ✓",{"n":-0.0,"e":1.0e+20}]'}`);
  members.push(`"class":${JSON.stringify(spec.className)}`);
  members.push(`"jid":"${spec.jid ?? newJid()}"`);
  members.push('"created_at":1795459303.8459766');
  if (spec.extra) members.push(spec.extra);
  return `{${members.join(',')}}`;
}

/**
 * Seconds since the epoch as Sidekiq ≤ 7 writes them: a Float, always with a fraction. A clock
 * value that happens to be whole (`Date.now() / 1000 - 90` once in 1,000 runs) written bare
 * reads as Sidekiq 8's Integer milliseconds (core/payload/job-timestamp.ts), 56 years ago.
 */
export const floatSeconds = (seconds: number): string => (Number.isInteger(seconds) ? `${seconds}.0` : String(seconds));

/** The jid of a payload, read without parsing it as a whole. */
export function jidOf(payload: string | Buffer): string {
  const match = /"jid":"([0-9a-f]+)"/.exec(payload.toString());
  if (!match) throw new Error(`no jid in ${payload.toString().slice(0, 80)}`);
  return match[1]!;
}

/** The top-level queue value of a Sidekiq-written payload (`queue` precedes `args` there). */
export function queueOf(payload: string | Buffer): string | null {
  return /^\{[^[]*?"queue":"([^"]*)"/.exec(payload.toString())?.[1] ?? null;
}
