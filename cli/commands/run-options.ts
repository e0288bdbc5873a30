import type { Command } from 'commander';
import { collect } from '../collect.js';

/** The options `run` and `move` share: routing, selection, paging, output. */
export function addMigrationOptions(command: Command): Command {
  return command
    .option('--catalog <file>', "GitLab's app/workers/all_queues.yml, with --rules (repeat to add the EE catalog)", collect)
    .option('--rules <file>', 'GitLab routing rules: a JSON/YAML list of [query, queue] pairs, or a gitlab.yml')
    .option('--environment <name>', 'the gitlab.yml section to read routing rules from (default: production)')
    .option('--strict', 'refuse queries GitLab accepts but that are probably mistakes')
    .option('--mapping <file>', 'an explicit {"WorkerClass": "queue"} mapping (JSON or YAML), for applications that are not GitLab')
    .option('--rename <old=new>', 'move the jobs of queue OLD to queue NEW (repeatable)', collect)
    .option('--sets <list>', 'sorted sets to migrate (default: schedule,retry,dead)')
    .option('--no-queues', 'leave the queue lists alone (only the sets)')
    .option('--namespace <prefix>', 'Sidekiq key prefix (redis-namespace), e.g. resque:gitlab:')
    .option('--append', "queue moved jobs behind the destination's backlog (GitLab's behaviour) instead of ahead of it")
    .option('--page-size <n>', 'jobs per page or slice (default: 1000)')
    .option('--run-id <id>', 'name the run (to resume a specific interrupted run)')
    .option('--tls-ca <file>', 'CA certificate(s) to trust for rediss:// (PEM), for a private CA')
    .option('--dry-run', 'decide and count everything, write nothing')
    .option('--json', 'print one JSON summary object');
}
