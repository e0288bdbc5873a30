# frozen_string_literal: true

# Two job classes that share ONE queue (`default`) for the shard-move compatibility test
# (test/compat/real-sidekiq-shard-move.test.ts): MovingWorker, whose class moves to another Redis,
# and StayingWorker, which stays. Loaded by shard_enqueue.rb, shard_produce.rb and by the real
# server (`sidekiq -r .../shard_workers.rb`); builds on workers.rb (configuration, sample_args).
#
# args[0] of every job is its mode, what perform does before recording its run:
#   plain  nothing
#   slow   sleeps HARNESS_SLOW_SECONDS (default 0): a long job, so a server with concurrency 1
#          is busy while the move runs
#   gate   waits until the key `harness:gate` exists in the Redis it runs on (the test sets it
#          once the move has ended): a server with concurrency 1 cannot fetch past this job
#          before then, whatever the machine's timing
#   flaky  fails when the payload has no retry_count (its first attempt, run by the enqueue
#          script), succeeds when retried
#   dead   fails outside a Sidekiq server (the enqueue script sends it to `dead` with retry: 0)
#
# Environment (besides workers.rb's):
#   HARNESS_SIDE    which Redis this server runs on (`old`, `new`), recorded with every run
#   HARNESS_OUT     every successful perform appends one JSON line:
#                   {"jid","class","side","fetched_queue","args_json","payload_b64",
#                    "started_at","finished_at","pid"}; payload_b64 = the payload's bytes exactly
#                   as the server popped them from Redis (base64)
#   HARNESS_STARTS  every job start appends {"jid","class","side","started_at"} here

require "base64"
require "sidekiq/fetch"
require_relative "workers"

module ShardHarness
  GATE_KEY = "harness:gate"
  GATE_TIMEOUT = 120
  SLOW_SECONDS = Float(ENV.fetch("HARNESS_SLOW_SECONDS", "0"))

  class PlannedFailure < StandardError; end

  def self.append(path, fields)
    return unless path && !path.empty?

    Harness::LOCK.synchronize do
      File.open(path, "a") do |f|
        f.flock(File::LOCK_EX)
        f.write(JSON.generate(fields) + "\n")
      end
    end
  end

  def self.now = Process.clock_gettime(Process::CLOCK_REALTIME)

  # The payload bytes as fetched: BasicFetch#retrieve_work returns them as UnitOfWork#job, on the
  # processor thread that then runs the job.
  module CaptureRawPayload
    def retrieve_work
      work = super
      Thread.current[:shard_raw] = work&.job
      work
    end
  end

  # Server middleware: the start of each job, before it runs.
  class Starts
    def call(_worker, job, _queue)
      Thread.current[:shard_started_at] = ShardHarness.now
      ShardHarness.append(ENV["HARNESS_STARTS"], "jid" => job["jid"], "class" => job["class"], "side" => ENV["HARNESS_SIDE"], "started_at" => Thread.current[:shard_started_at])
      yield
    end
  end

  def self.wait_for_gate
    deadline = now + GATE_TIMEOUT
    until Sidekiq.redis { |c| c.exists?(GATE_KEY) }
      raise PlannedFailure, "the gate was not opened within #{GATE_TIMEOUT} s" if now > deadline

      sleep 0.05
    end
  end

  def self.perform(worker, klass, args)
    job = (Thread.current[:harness_ctx] || {})[:job] || {}
    case args[0]
    when "slow" then sleep(SLOW_SECONDS)
    when "gate" then wait_for_gate
    when "flaky" then raise PlannedFailure, "planned first failure" if job["retry_count"].nil?
    when "dead" then raise PlannedFailure, "planned failure outside the server" unless Sidekiq.server?
    end
    raw = Thread.current[:shard_raw]
    append(ENV["HARNESS_OUT"],
      "jid" => worker.jid, "class" => klass, "side" => ENV["HARNESS_SIDE"],
      "fetched_queue" => (Thread.current[:harness_ctx] || {})[:fetched_queue],
      "args_json" => JSON.generate(args), "payload_b64" => raw && Base64.strict_encode64(raw),
      "started_at" => Thread.current[:shard_started_at], "finished_at" => now, "pid" => Process.pid)
  end
end

Sidekiq.configure_server do |config|
  config.server_middleware { |chain| chain.add ShardHarness::Starts }
end
Sidekiq::BasicFetch.prepend(ShardHarness::CaptureRawPayload)

# The class whose routing rule gains a store: its jobs must end up on the new Redis.
class MovingWorker
  include Sidekiq::Worker
  sidekiq_options queue: "default", retry: 5
  sidekiq_retry_in { |_count, _exception| Integer(ENV.fetch("HARNESS_RETRY_IN", "1")) }

  def perform(*args)
    ShardHarness.perform(self, self.class.name, args)
  end
end

# The class that stays on the old Redis, on the same queue.
class StayingWorker
  include Sidekiq::Worker
  sidekiq_options queue: "default", retry: 5
  sidekiq_retry_in { |_count, _exception| Integer(ENV.fetch("HARNESS_RETRY_IN", "1")) }

  def perform(*args)
    ShardHarness.perform(self, self.class.name, args)
  end
end
