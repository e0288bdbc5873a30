# frozen_string_literal: true

# Enqueues jobs with the real Sidekiq 6.4 client (and Rails 6.1 ActiveJob) and
# writes one JSON line per job to MANIFEST:
#   {"jid","kind","queue","class","args_json"}
# args_json is JSON.generate(args), what the server must later hand to perform.
#
#   REDIS_URL=... [HARNESS_NAMESPACE=ns] ruby enqueue.rb MANIFEST QUEUES KIND=N...
#
# QUEUES is comma-separated; jobs are spread over them round-robin. Kinds:
#   plain     PlainJob.perform_async                             -> queue:Q
#   soon      PlainJob.perform_in(2..4 s)                        -> schedule, due soon
#   far       PlainJob.perform_in(1 day)                         -> schedule, not due
#   retry     FlakyJob failing its 1st attempt in this process   -> retry (due in 1-10 s)
#   dead      DeadOnArrivalJob failing in this process           -> dead
#   aj        HarnessActiveJob.perform_later                     -> queue:Q
#   aj_soon   HarnessActiveJob.set(wait: 3).perform_later        -> schedule, due soon
#   aj_far    HarnessActiveJob.set(wait: 1 day).perform_later    -> schedule, not due
#   flaky     FlakyJob.perform_async, failing its 1st attempt    -> queue:Q (then retry, from the server)
#   long      Client.push of class "LongJob" (runs until the test opens a gate; defined
#             where the server runs it: long_job.rb)             -> queue:Q

require_relative "workers"

manifest, queue_list, *counts = ARGV
abort "usage: ruby enqueue.rb MANIFEST QUEUES KIND=N..." unless manifest && queue_list
queues = queue_list.split(",")
lines = []
seq = 0 # jobs enqueued so far: picks the queue and makes each job's args distinct

# Push a job with the real client, take it back off its list the way a fetcher
# would, and run its failing attempt here through Sidekiq's JobRetry.
fail_once = lambda do |setter, args, queue|
  jid = setter.perform_async(*args)
  record = Sidekiq::Queue.new(queue).find_job(jid) or abort "pushed job #{jid} not found"
  record.delete or abort "could not take #{jid} off queue:#{queue}"
  Harness.attempt_in_process(record.value, queue) == :failed or abort "#{jid} did not fail"
  jid
end

enqueue = {
  "plain" => ->(q, args) { PlainJob.set(queue: q).perform_async(*args) },
  "soon" => ->(q, args) { PlainJob.set(queue: q).perform_in(2 + seq % 3, *args) },
  "far" => ->(q, args) { PlainJob.set(queue: q).perform_in(86_400, *args) },
  "retry" => ->(q, args) { fail_once.call(FlakyJob.set(queue: q), args, q) },
  "dead" => ->(q, args) { fail_once.call(DeadOnArrivalJob.set(queue: q), args, q) },
  "aj" => ->(q, args) { HarnessActiveJob.set(queue: q).perform_later(*args).provider_job_id },
  "aj_soon" => ->(q, args) { HarnessActiveJob.set(queue: q, wait: 3).perform_later(*args).provider_job_id },
  "aj_far" => ->(q, args) { HarnessActiveJob.set(queue: q, wait: 86_400).perform_later(*args).provider_job_id },
  "flaky" => ->(q, args) { FlakyJob.set(queue: q).perform_async(*args) },
  "long" => ->(q, args) { Sidekiq::Client.push("class" => "LongJob", "queue" => q, "args" => args) }
}
classes = {"retry" => "FlakyJob", "flaky" => "FlakyJob", "dead" => "DeadOnArrivalJob", "long" => "LongJob"}
classes.default = "PlainJob"
%w[aj aj_soon aj_far].each { |k| classes[k] = "HarnessActiveJob" }

counts.each do |spec|
  kind, n = spec.split("=", 2)
  push = enqueue.fetch(kind) { abort "unknown kind #{kind}" }
  Integer(n).times do
    q = queues[seq % queues.size]
    seq += 1
    args = Harness.sample_args(seq)
    args = [1, *args] if %w[retry flaky].include?(kind) # FlakyJob's args[0]: fail once, then succeed
    jid = push.call(q, args)
    abort "no jid for #{kind}" unless jid.is_a?(String) && jid.match?(/\A\h{24}\z/)
    lines << JSON.generate("jid" => jid, "kind" => kind, "queue" => q, "class" => classes[kind], "args_json" => JSON.generate(args))
  end
end

File.write(manifest, lines.map { |l| l + "\n" }.join)
