import type { Command } from 'commander';
import { collect } from '../collect.js';

/** Where jobs go: GitLab rules over a catalog, an explicit mapping, or queue renames. */
export function addRoutingOptions(command: Command): Command {
  return command
    .option('--catalog <file>', "GitLab's app/workers/all_queues.yml, with --rules (repeat to add the EE catalog)", collect)
    .option('--rules <file>', 'GitLab routing rules: a JSON/YAML list of [query, queue] pairs, or a gitlab.yml')
    .option('--environment <name>', 'the gitlab.yml section to read routing rules from (default: production)')
    .option('--strict', 'refuse queries GitLab accepts but that are probably mistakes')
    .option('--mapping <file>', 'an explicit {"WorkerClass": "queue"} mapping (JSON or YAML), for applications that are not GitLab')
    .option('--rename <old=new>', 'move the jobs of queue OLD to queue NEW (repeatable)', collect);
}

/** Which classes' jobs a transfer carries (the others stay), and where store names are defined. */
export function addClassSelectionOptions(command: Command): Command {
  return addClassChoiceOptions(command).option('--redis-yml <file>', "GitLab's config/redis.yml, for --from or --to given as a store name of it (main, queues_shard_…)");
}

/** Which classes' jobs a transfer carries (`start`: the deployment's connections say which Redis, so no redis.yml). */
export function addClassChoiceOptions(command: Command): Command {
  return command
    .option('--classes <list>', 'carry only the jobs of these worker classes (exact names, comma-separated, spaces around them ignored, none empty; ActiveJob: the wrapped class)')
    .option('--classes-file <file>', 'carry only the jobs of the classes in this JSON/YAML file: a list of names, or a mapping "Class": "queue" (re-routed there)')
    .option('--store <name>', "with --catalog and --rules: carry the workers whose first matching rule names this store (3rd element), to that rule's queue; main: those whose rule names none");
}

/** Which sorted sets and whether the queue lists: run, move, start, and rollback (only those it undoes). */
export function addSetOptions(command: Command): Command {
  return command
    .option('--sets <list>', "sorted sets to migrate, comma-separated (default: schedule,retry,dead,interrupted; GitLab's interrupted set only when it exists; spaces around names ignored, none empty)")
    .option('--queues', 'migrate the queue lists too (the default)')
    .option('--no-queues', 'leave the queue lists alone (only the sets)');
}

/** What to migrate and how, for a local run and a deployed execution alike. */
export function addSelectionOptions(command: Command): Command {
  return addSetOptions(command)
    .option('--append', "queue moved jobs behind the destination's backlog (GitLab's behaviour) instead of ahead of it (queue lists only: a re-route refuses it with --no-queues)")
    .option('--page-size <n>', 'jobs per page or slice (default: 1000)')
    .option('--run-id <id>', 'name the run (to resume a specific interrupted run)')
    .option('--dry-run', 'decide and count everything, write nothing');
}

/** The options `run` and `move` share: routing, selection, connection details, output. */
export function addMigrationOptions(command: Command): Command {
  return addSelectionOptions(addRoutingOptions(command))
    .option('--namespace <prefix>', 'Sidekiq key prefix (redis-namespace), e.g. resque:gitlab:')
    .option('--tls-ca <file>', "CA certificate(s) to trust for rediss:// (PEM), for a private CA, besides Node's default CAs")
    .option('--password <password>', 'the Redis password, apart from the URL (any characters; better: $SIDEKIQ_MIGRATE_PASSWORD, which ps does not show)')
    .option('--json', 'print one JSON summary object (with every set and queue)')
    .option('--verbose', 'list every set and queue in the summary, not only the largest');
}

/** Where the deployed state machine is: the commands that talk to AWS Step Functions. */
export function addDeployedOptions(command: Command): Command {
  return command
    .option('--state-machine <arn>', 'the migration state machine (default: the StateMachineArn output of --stack; not with an execution ARN)')
    .option('--stack <name>', 'the deployed CloudFormation stack (default: SidekiqMigrate), read to find the state machine: not with --state-machine, nor an execution ARN')
    .option('--region <region>', 'the AWS region (default: the SDK\'s: AWS_REGION, the profile)');
}
