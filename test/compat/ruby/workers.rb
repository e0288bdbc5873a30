# frozen_string_literal: true

# Job classes and Sidekiq configuration for the real-Sidekiq compatibility tests
# (test/compat). Written for Debian's ruby-sidekiq 6.4.1, ruby-activejob (Rails 6.1)
# and ruby-redis-namespace. Loaded by enqueue.rb, dead_retry.rb and by the real
# server: `sidekiq -r .../workers.rb`. Adapted from the project's shared
# real-Sidekiq harness; kept self-contained on purpose.
#
# Environment:
#   REDIS_URL              Redis to use
#   HARNESS_NAMESPACE      optional redis-namespace prefix (Sidekiq 6 `namespace:` option)
#   HARNESS_OUT            every successful perform appends one JSON line here:
#                          {"jid","class","fetched_queue","payload_queue","args_json",
#                           "aj_queue_name","pid"}; args_json = JSON.generate(args as
#                          perform received them), so any change of value, type or key
#                          order shows up as different bytes
#   HARNESS_RETRY_IN       seconds FlakyJob asks for before its next try (default 1;
#                          Sidekiq 6.4 adds jitter rand(10) * (retry_count + 1))
#   HARNESS_POLL_INTERVAL  scheduler poll average in seconds (default 0.5)
#   HARNESS_JOB_SECONDS    every job the server runs first sleeps this long (default 0),
#                          to make a server drain its queues slowly

require "json"
require "logger"
require "sidekiq"
Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)
require "sidekiq/api"
require "sidekiq/job_retry"
require "active_job"

module Harness
  LOCK = Mutex.new

  class PlannedFailure < StandardError; end

  # Arguments that break lossy JSON round-trips: a float with no fraction, integers
  # above 2**53, exponent-form floats, negative zero, non-ASCII text and escapes,
  # and a nested hash whose integer-like keys come after other keys.
  def self.sample_args(i)
    [
      i,
      1.0,
      2**62 + 1,
      "héllo wörld ✓ 日本語 🚀 \"quoted\" back\\slash </script> tab\t nl\n ls\u2028",
      {
        "nested" => {"list" => [1, 2.5, nil, true, false, [], {}], "10" => "ten", "2" => "two", "a" => {"b" => {"c" => [i]}}},
        "big" => 2**64,
        "exp" => 1.0e20,
        "tiny" => 1.5e-07,
        "negzero" => -0.0
      }
    ]
  end

  # Called from perform: records one execution (see HARNESS_OUT above).
  def self.record(jid, klass, args, aj_queue_name = nil)
    path = ENV["HARNESS_OUT"] or return
    ctx = Thread.current[:harness_ctx] || {}
    job = ctx[:job] || {}
    line = JSON.generate(
      "jid" => jid, "class" => klass, "fetched_queue" => ctx[:fetched_queue],
      "payload_queue" => job["queue"], "args_json" => JSON.generate(args),
      "aj_queue_name" => aj_queue_name, "pid" => Process.pid
    )
    LOCK.synchronize do
      File.open(path, "a") do |f|
        f.flock(File::LOCK_EX)
        f.write(line + "\n")
      end
    end
  end

  # Server middleware: remembers the payload and the queue the job was popped from.
  class Context
    JOB_SECONDS = Float(ENV.fetch("HARNESS_JOB_SECONDS", "0"))

    def call(_worker, job, queue)
      Thread.current[:harness_ctx] = {fetched_queue: queue, job: job}
      sleep(JOB_SECONDS) if JOB_SECONDS.positive?
      yield
    ensure
      Thread.current[:harness_ctx] = nil
    end
  end

  # Runs one attempt of +jobstr+ in this process through Sidekiq's own JobRetry,
  # exactly as a processor does after popping it from queue:+queue+. A failing
  # job lands in the real `retry` (or `dead`) sorted set.
  def self.attempt_in_process(jobstr, queue)
    job = Sidekiq.load_json(jobstr)
    retrier = Sidekiq::JobRetry.new
    Thread.current[:harness_ctx] = {fetched_queue: queue, job: job}
    retrier.global(jobstr, queue) do
      worker = Object.const_get(job["class"]).new
      worker.jid = job["jid"]
      retrier.local(worker, jobstr, queue) { worker.perform(*job["args"]) }
    end
    :succeeded
  rescue Sidekiq::JobRetry::Handled
    :failed # JobRetry already wrote the job to the retry or dead set
  ensure
    Thread.current[:harness_ctx] = nil
  end

  def self.redis_options
    opts = {url: ENV.fetch("REDIS_URL")}
    ns = ENV["HARNESS_NAMESPACE"]
    opts[:namespace] = ns if ns && !ns.empty?
    opts
  end
end

Sidekiq.configure_client do |config|
  config.redis = Harness.redis_options
end

Sidekiq.configure_server do |config|
  config.redis = Harness.redis_options
  config.server_middleware { |chain| chain.add Harness::Context }
  # Setting an average also drops Sidekiq's fixed 10 s initial poller wait (0-5 s remain).
  Sidekiq.options[:poll_interval_average] = Float(ENV.fetch("HARNESS_POLL_INTERVAL", "0.5"))
end

# An ordinary job.
class PlainJob
  include Sidekiq::Worker

  def perform(*args)
    Harness.record(jid, self.class.name, args)
  end
end

# Fails its first args[0] attempts, then succeeds. The attempt number comes from
# the payload's retry_count (absent on the first attempt).
class FlakyJob
  include Sidekiq::Worker
  sidekiq_options retry: 5
  sidekiq_retry_in { |_count, _exception| Integer(ENV.fetch("HARNESS_RETRY_IN", "1")) }

  def perform(fail_times, *rest)
    job = (Thread.current[:harness_ctx] || {})[:job] || {}
    attempt = job["retry_count"].nil? ? 1 : job["retry_count"] + 2
    raise Harness::PlannedFailure, "planned failure on attempt #{attempt} of #{fail_times}" if attempt <= fail_times

    Harness.record(jid, self.class.name, [fail_times, *rest])
  end
end

# No retries: fails whenever it runs outside a Sidekiq server process, so the
# enqueue script's in-process attempt sends it straight to the dead set; once
# retried from the dead set (which decrements retry_count, so FlakyJob's
# attempt counting would not do), it succeeds on the real server.
class DeadOnArrivalJob
  include Sidekiq::Worker
  sidekiq_options retry: 0

  def perform(*args)
    raise Harness::PlannedFailure, "planned failure outside the server" unless Sidekiq.server?

    Harness.record(jid, self.class.name, args)
  end
end

# Real ActiveJob through Rails 6.1's own Sidekiq adapter; no Rails app needed.
ActiveJob::Base.queue_adapter = :sidekiq
ActiveJob::Base.logger = Logger.new(IO::NULL)

class HarnessActiveJob < ActiveJob::Base
  queue_as :default

  # provider_job_id is the Sidekiq jid; queue_name comes from args[0].queue_name.
  def perform(*args)
    Harness.record(provider_job_id, self.class.name, args, queue_name)
  end
end
