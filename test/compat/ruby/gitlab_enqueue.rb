# frozen_string_literal: true

# Enqueues GitLab-shaped jobs (gitlab_workers.rb) with the real Sidekiq 6.4 client, Rails 6.1
# ActiveJob and ActionMailer, and writes one JSON line per job to MANIFEST:
#   {"jid","kind","queue","class","args_json"}
#
#   REDIS_URL=... ruby gitlab_enqueue.rb MANIFEST
#
# Kinds: queued (a list), soon (schedule, due in 2-4 s), far (schedule, due in a day),
# retry (failed once in this process through Sidekiq's JobRetry: retry set, due in 1-10 s).

require_relative "gitlab_workers"

manifest = ARGV.fetch(0)
lines = []
seq = 0
note = lambda do |jid, kind, queue, klass, args|
  lines << JSON.generate("jid" => jid, "kind" => kind, "queue" => queue, "class" => klass, "args_json" => JSON.generate(args))
end
worker = lambda do |klass, queue, kind|
  seq += 1
  args = Harness.sample_args(seq)
  setter = klass.set(queue: queue)
  jid =
    case kind
    when "queued" then setter.perform_async(*args)
    when "soon" then setter.perform_in(2 + seq % 3, *args)
    when "far" then setter.perform_in(86_400, *args)
    when "retry"
      args = ["fail-once", *args]
      pushed = setter.perform_async(*args)
      record = Sidekiq::Queue.new(queue).find_job(pushed) or abort "pushed job #{pushed} not found"
      record.delete or abort "could not take #{pushed} off queue:#{queue}"
      Harness.attempt_in_process(record.value, queue) == :failed or abort "#{pushed} did not fail"
      pushed
    end
  note.call(jid, kind, queue, klass.name, args)
end

# Every worker on its generated queue (GitLab without routing rules: one queue per worker).
%w[queued queued soon far retry].each { |kind| worker.call(PostReceive, "post_receive", kind) }
%w[queued soon far].each { |kind| worker.call(MergeWorker, "merge", kind) }
%w[queued far].each { |kind| worker.call(AdminEmailWorker, "cronjob:admin_email", kind) }
%w[queued far].each { |kind| worker.call(DeleteDiffFilesWorker, "delete_diff_files", kind) }
# A class this GitLab no longer has (not in any catalog), waiting on a drained queue.
seq += 1
removed = PlainJob.set(queue: "post_receive").perform_async(seq)
note.call(removed, "queued", "post_receive", "PlainJob", [seq])

# ActiveJob on its old queue: routed by its `wrapped` class (a catalog entry names it).
{"queued" => {}, "soon" => {wait: 3}, "far" => {wait: 86_400}}.each do |kind, wait|
  seq += 1
  args = Harness.sample_args(seq)
  jid = HarnessActiveJob.set(queue: "harness_active_job", **wait).perform_later(*args).provider_job_id
  note.call(jid, kind, "harness_active_job", "HarnessActiveJob", args)
end

# Mail, now and later: ActionMailer::MailDeliveryJob on `mailers`, which no rule can route.
{"queued" => {}, "soon" => {wait: 3}, "far" => {wait: 86_400}}.each do |kind, wait|
  seq += 1
  job = HarnessMailer.notice(seq).deliver_later(**wait)
  note.call(job.provider_job_id, kind, "mailers", "ActionMailer::MailDeliveryJob", [seq])
end

File.write(manifest, lines.map { |l| "#{l}\n" }.join)
puts "enqueued #{lines.size}"
