# frozen_string_literal: true

# Enqueues MovingWorker / StayingWorker jobs (shard_workers.rb) on the shared `default` queue with
# the real Sidekiq 6.4 client, in the order given, and writes one JSON line per job to MANIFEST:
#   {"jid","kind","class","queue","args_json"}
#
#   REDIS_URL=... ruby shard_enqueue.rb MANIFEST CLASS:KIND=N...
#
# Kinds (args[0] of the job is its mode, see shard_workers.rb):
#   slow, gate, plain   perform_async                           -> queue:default
#   soon                perform_in(3..5 s)                      -> schedule, due soon
#   far                 perform_in(1 day)                       -> schedule, not due
#   retry               fails its 1st attempt in this process   -> retry (due in 1-10 s)
#   retry_far           the same, asking for a day's delay      -> retry, not due
#   dead                retry: 0, fails in this process         -> dead

require_relative "shard_workers"

manifest, *specs = ARGV
abort "usage: ruby shard_enqueue.rb MANIFEST CLASS:KIND=N..." unless manifest && !specs.empty?
seq = 0
lines = []

# Push with the real client, take the job back off its list as a fetcher would, and run its
# failing attempt here through Sidekiq's JobRetry (-> retry, or dead when retry is 0).
fail_once = lambda do |setter, args|
  jid = setter.perform_async(*args)
  record = Sidekiq::Queue.new("default").find_job(jid) or abort "pushed job #{jid} not found"
  record.delete or abort "could not take #{jid} off queue:default"
  Harness.attempt_in_process(record.value, "default") == :failed or abort "#{jid} did not fail"
  jid
end

push = {
  "slow" => ->(k, args) { k.perform_async(*args) },
  "gate" => ->(k, args) { k.perform_async(*args) },
  "plain" => ->(k, args) { k.perform_async(*args) },
  "soon" => ->(k, args) { k.perform_in(3 + seq % 3, *args) },
  "far" => ->(k, args) { k.perform_in(86_400, *args) },
  "retry" => ->(k, args) { fail_once.call(k, args) },
  "retry_far" => lambda do |k, args|
    ENV["HARNESS_RETRY_IN"] = "86400" # read by sidekiq_retry_in when the attempt fails
    fail_once.call(k, args)
  ensure
    ENV["HARNESS_RETRY_IN"] = "1"
  end,
  "dead" => ->(k, args) { fail_once.call(k.set(retry: 0), args) }
}
mode = {"retry" => "flaky", "retry_far" => "flaky", "soon" => "plain", "far" => "plain"}

specs.each do |spec|
  klass, rest = spec.split(":", 2)
  kind, n = rest.to_s.split("=", 2)
  worker = {"MovingWorker" => MovingWorker, "StayingWorker" => StayingWorker}.fetch(klass) { abort "unknown class #{klass}" }
  action = push.fetch(kind) { abort "unknown kind #{kind}" }
  Integer(n).times do
    seq += 1
    args = [mode.fetch(kind, kind), *Harness.sample_args(seq)]
    jid = action.call(worker, args)
    abort "no jid for #{spec}" unless jid.is_a?(String) && jid.match?(/\A\h{24}\z/)
    lines << JSON.generate("jid" => jid, "kind" => kind, "class" => klass, "queue" => "default", "args_json" => JSON.generate(args))
  end
end

File.write(manifest, lines.map { |l| l + "\n" }.join)
