import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { GitLabRouting } from '../../core/routing/gitlab-routing.js';

export interface DemoSeed {
  readonly queued: number;
  readonly scheduled: number;
  readonly retrying: number;
  readonly dead: number;
  /** Jobs no rule can route (an ActiveJob mail, a removed worker) and payloads that are not JSON. */
  readonly unmapped: number;
  readonly unparsable: number;
  /** The queues the seeded jobs sit on: each worker's generated queue, which the rules retire. */
  readonly oldQueues: readonly string[];
}

/**
 * Seeds a Redis with jobs as a GitLab instance that used one queue per worker would have them,
 * just after its administrator adopted `routing`: jobs of many real workers waiting on their old
 * queues, scheduled, waiting to retry (with Sidekiq's error fields) and dead, written as Sidekiq 6
 * writes them (compact JSON, `1.0`, big integers, GitLab's meta fields). Plus what a migration
 * must not lose: ActiveJob mails on `mailers`, a job of a removed worker, and unparsable payloads.
 */
export async function seedDemoData(redis: Redis, routing: GitLabRouting, perWorker = 6): Promise<DemoSeed> {
  // Workers whose jobs move: their generated queue is not where the rules now send them.
  const moving = routing.routes.filter((r) => r.queue !== r.worker.name).slice(0, 60);
  const pipeline = redis.pipeline();
  const now = 1_795_459_303;
  let queued = 0;
  let scheduled = 0;
  let retrying = 0;
  let dead = 0;
  moving.forEach((route, w) => {
    const queue = route.worker.name;
    pipeline.sadd('queues', queue);
    for (let i = 0; i < perWorker; i++) {
      const base = gitlabJob(route.worker.workerName, queue, w * 100 + i, now - 60 + i);
      pipeline.lpush(`queue:${queue}`, base.queued);
      queued++;
      if (i % 2 === 0) {
        pipeline.zadd('schedule', `${now + 3600 * (i + 1)}.${w}${i}`, base.scheduled);
        scheduled++;
      }
      if (i % 3 === 0) {
        pipeline.zadd('retry', `${now + 15 + i * 30}.5`, base.retrying);
        retrying++;
      }
      if (i === 1) {
        pipeline.zadd('dead', `${now - 86_400}.25`, base.retrying);
        dead++;
      }
    }
  });
  const mail = `{"retry":true,"queue":"mailers","class":"ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper","wrapped":"ActionMailer::MailDeliveryJob","args":[{"job_class":"ActionMailer::MailDeliveryJob","job_id":"0c6f1a7e-4d2b-4f7e-9c1a-7d3e5b2a9f10","provider_job_id":null,"queue_name":"mailers","priority":null,"arguments":["Notify","new_issue_email","deliver_now",{"args":[1,2],"_aj_ruby2_keywords":["args"]}],"executions":0,"exception_executions":{},"locale":"en","timezone":"UTC","enqueued_at":"2026-11-23T18:41:43Z"}],"jid":"${jid()}","created_at":${now}.1234567,"enqueued_at":${now}.1234571}`;
  pipeline.sadd('queues', 'mailers').lpush('queue:mailers', mail);
  pipeline.sadd('queues', 'removed_worker').lpush('queue:removed_worker', gitlabJob('RemovedWorker', 'removed_worker', 1, now).queued);
  pipeline.lpush(`queue:${moving[0]!.worker.name}`, '{"class":"PostReceive","args":[truncated');
  pipeline.zadd('retry', `${now + 42}.0`, '<html>502 Bad Gateway</html>');
  await pipeline.exec();
  return { queued: queued + 3, scheduled, retrying: retrying + 1, dead, unmapped: 2, unparsable: 2, oldQueues: moving.map((r) => r.worker.name) };
}

function jid(): string {
  return randomBytes(12).toString('hex');
}

/** One job of a GitLab worker in its three forms: queued, scheduled (no enqueued_at), failed once. */
function gitlabJob(className: string, queue: string, n: number, at: number): { queued: string; scheduled: string; retrying: string } {
  const id = jid();
  const head = `"retry":3,"queue":${JSON.stringify(queue)},"version":0,"args":[${n},1.0,9007199254740993,"project/${n}"],"class":${JSON.stringify(className)},"jid":"${id}"`;
  const meta = `"meta.feature_category":"source_code_management","correlation_id":"${jid()}","worker_data_consistency":"always","size_limiter":"validated"`;
  const created = `"created_at":${at}.8459766`;
  return {
    queued: `{${head},${created},${meta},"enqueued_at":${at}.8460433}`,
    scheduled: `{${head},${created},${meta}}`,
    retrying: `{${head},${created},${meta},"enqueued_at":${at}.8460433,"error_message":"Gitlab::Git::CommandError: 14:Connection refused","error_class":"Gitlab::Git::CommandError","failed_at":${at + 1}.5,"retry_count":0}`,
  };
}
