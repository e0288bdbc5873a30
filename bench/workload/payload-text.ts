import { Prng } from '../prng.js';
import type { BenchWorker } from './routing.js';

export type JobKind = 'schedule' | 'retry' | 'queued';

/**
 * A payload split around its `queue` value: `head + JSON(queue) + tail`. The original and the
 * expected rewrite differ only there, which is exactly what a correct re-route must produce.
 */
export interface PayloadParts {
  readonly head: string;
  readonly tail: string;
}

export const withQueue = (parts: PayloadParts, queue: string): string => parts.head + JSON.stringify(queue) + parts.tail;

const ARGS = '<args>';

// Around 2026-11: the same epoch the captured Sidekiq 6.4 payloads use.
const NOW = 1_795_459_303;

/**
 * One GitLab job as Sidekiq 6 + GitLab's client middleware write it: compact, perform_async key
 * order (`retry, queue, …, class, args, jid, created_at`), then GitLab's fields (correlation_id,
 * meta.*, worker_data_consistency, idempotency_key, size_limiter), then what the kind adds
 * (`enqueued_at` for queued and retried jobs, the error fields for `retry`). Numbers are written
 * as Ruby writes them (`1.0`, `2**62+1`, `1.0e+20`, `-0.0`), which JSON.parse + JSON.stringify
 * would change: the text is assembled, never serialised from values. Size: 300–1,000 bytes.
 */
export function gitlabPayload(p: Prng, worker: BenchWorker, kind: JobKind): PayloadParts {
  const target = p.int(300, 1000);
  const created = NOW - p.int(0, 86_400) - p.float();
  // [text, optional]: optional members are dropped (at random) until the job fits its target size.
  // ARGS marks where `args` goes; its text depends on the padding, chosen last.
  const fields: [string, boolean][] = [[`"version":0`, false]];
  if (worker.queueNamespace !== null) fields.push([`"queue_namespace":${JSON.stringify(worker.queueNamespace)}`, false]);
  const cls = `"class":${JSON.stringify(worker.className)}`;
  const args = gitlabArgs(p);
  // perform_in (scheduled jobs) writes `class` before `args`; perform_async the other way round.
  if (kind === 'schedule') fields.push([cls, false], [ARGS, false]);
  else fields.push([ARGS, false], [cls, false]);
  fields.push([`"jid":"${p.hex(12)}"`, false], [`"created_at":${rubyFloat(created)}`, false]);
  fields.push([`"correlation_id":"${p.hex(16)}"`, false]);
  fields.push([`"meta.caller_id":${JSON.stringify(p.pick(CALLERS))}`, true]);
  fields.push([`"meta.remote_ip":"10.${p.int(0, 255)}.${p.int(0, 255)}.${p.int(1, 254)}"`, true]);
  fields.push([`"meta.feature_category":${JSON.stringify(worker.featureCategory)}`, false]);
  fields.push([`"meta.user":"user${p.int(1, 99_999)}","meta.user_id":${p.int(1, 9_999_999)}`, true]);
  const group = `group-${p.int(1, 5_000)}`;
  fields.push([`"meta.project":"${group}/project-${p.int(1, 90_000)}","meta.root_namespace":"${group}"`, true]);
  fields.push([`"meta.client_id":"${p.pick(['user', 'ip', 'runner'])}/${p.int(1, 9_999_999)}"`, true]);
  fields.push([`"meta.root_caller_id":${JSON.stringify(p.pick(CALLERS))}`, true]);
  fields.push([`"worker_data_consistency":"${p.pick(['always', 'sticky', 'delayed'])}"`, false]);
  fields.push([`"wal_locations":{"main":"${p.hex(1)}/${p.hex(4).toUpperCase()}"},"wal_location_sources":{"main":"primary"}`, true]);
  fields.push([`"idempotency_key":"resque:gitlab:duplicate:${worker.ownQueue}:${p.hex(32)}"`, true]);
  fields.push([`"size_limiter":"validated"`, false]);
  if (kind !== 'schedule') fields.push([`"enqueued_at":${rubyFloat(created + p.float() * 60)}`, false]);
  if (kind === 'retry') {
    const failed = created + 60 + p.float() * 600;
    fields.push([`"error_message":${JSON.stringify(p.pick(ERRORS))}`, false], [`"error_class":"${p.pick(ERROR_CLASSES)}"`, false]);
    fields.push([`"failed_at":${rubyFloat(failed)}`, false], [`"retry_count":${p.int(0, 4)}`, false]);
    fields.push([`"retried_at":${rubyFloat(failed + p.float() * 3_600)}`, true]);
  }

  const head = `{"retry":${p.pick(['true', '3', '3', '5', 'true'])},"queue":`;
  // Sizes are added up rather than measured on built strings: this runs for a million jobs.
  const bytes = fields.map(([text]) => (text === ARGS ? 7 + args.bytes : Buffer.byteLength(text)));
  const fixed = Buffer.byteLength(head) + worker.ownQueue.length + 2 + 1;
  let size = fixed + bytes.reduce((a, b) => a + b, 0) + fields.length;
  const kept = fields.map((_, i) => i);
  while (size > target) {
    const optional = kept.filter((i) => fields[i]![1]);
    if (optional.length === 0) break;
    const drop = p.pick(optional);
    kept.splice(kept.indexOf(drop), 1);
    size -= bytes[drop]! + 1;
  }
  // Pad with one more string argument so that sizes spread over 300–1,000 bytes.
  const pad = target - size;
  const members = kept.map((i) => (fields[i]![0] === ARGS ? `"args":${args.text(pad)}` : fields[i]![0]));
  return { head, tail: `,${members.join(',')}}` };
}

/** Arguments in the shapes GitLab workers take, with Ruby's number formats; `pad` bytes of text added. */
function gitlabArgs(p: Prng): { bytes: number; text: (pad: number) => string } {
  const id = p.int(1, 90_000_000);
  const shape = p.int(0, 3);
  const base = [
    `${id},"refs/heads/feature-${p.hex(3)}",{"user_id":${p.int(1, 9_999_999)},"ratio":1.0}`,
    `${id},1.0,4611686018427387905,"héllo wörld ✓ \\"quoted\\" back\\\\slash"`,
    `${id},{"pipeline_id":${p.int(1, 900_000_000)},"duration":2.5,"big":18446744073709551616,"exp":1.0e+20,"tiny":1.5e-07,"neg":-0.0,"list":[1,null,true,[],{}]}`,
    `"project-${id}","key-${p.int(1, 9_999)}","${p.hex(20)}"`,
  ][shape]!;
  const from = p.int(0, FILLER.length - 1_100);
  // `,"…"` adds exactly `pad` bytes (the filler is ASCII).
  return { bytes: Buffer.byteLength(base) + 2, text: (pad) => (pad > 3 ? `[${base},"${FILLER.slice(from, from + pad - 3)}"]` : `[${base}]`) };
}

const WORDS = ['merge', 'request', 'pipeline', 'commit', 'project', 'namespace', 'runner', 'deploy', 'issue', 'note', 'ci', 'build'];

/** Plain ASCII words, built once; each job takes a slice at a random offset (cheap for 1M jobs). */
const FILLER = (() => {
  const p = new Prng('filler');
  let s = '';
  while (s.length < 20_000) s += `${p.pick(WORDS)}-${p.int(0, 99_999)} `;
  return s;
})();

/** Ruby's Float#to_s for a timestamp: shortest round-trip digits, always with a fraction. */
function rubyFloat(x: number): string {
  const s = String(x);
  return s.includes('.') ? s : `${s}.0`;
}

const CALLERS = [
  'POST /api/:version/internal/post_receive',
  'Projects::MergeRequestsController#create',
  'Ci::PipelineCreation::StartPipelineService',
  'POST /api/:version/projects/:id/pipeline',
  'Cronjob::ScheduleMigrationWorker',
  'GraphqlController#execute',
];
const ERRORS = [
  'Gitlab::Git::CommandError: 14:failed to connect to all addresses',
  'ActiveRecord::StatementTimeout: PG::QueryCanceled: ERROR:  canceling statement due to statement timeout',
  'Net::ReadTimeout with #<TCPSocket:(closed)>',
  'Redis::TimeoutError: Connection timed out',
];
const ERROR_CLASSES = ['Gitlab::Git::CommandError', 'ActiveRecord::StatementTimeout', 'Net::ReadTimeout', 'Redis::TimeoutError'];
