# frozen_string_literal: true

# A producer that keeps pushing jobs of one class to `default` on one Redis, as a Rails node
# does, until STOP_FILE exists (and at least MIN jobs are out). One JSON line per job is appended
# to MANIFEST as soon as it is pushed: {"jid","kind":"plain","class","queue","args_json"}.
#
#   REDIS_URL=... ruby shard_produce.rb MANIFEST CLASS STOP_FILE INTERVAL_SECONDS MIN

require_relative "shard_workers"

manifest, klass, stop_file, interval, min = ARGV
abort "usage: ruby shard_produce.rb MANIFEST CLASS STOP_FILE INTERVAL_SECONDS MIN" unless min
worker = {"MovingWorker" => MovingWorker, "StayingWorker" => StayingWorker}.fetch(klass) { abort "unknown class #{klass}" }
pushed = 0
File.open(manifest, "a") do |out|
  until File.exist?(stop_file) && pushed >= Integer(min)
    pushed += 1
    args = ["plain", *Harness.sample_args(10_000 + pushed)]
    jid = worker.perform_async(*args)
    out.write(JSON.generate("jid" => jid, "kind" => "plain", "class" => klass, "queue" => "default", "args_json" => JSON.generate(args)) + "\n")
    out.flush
    sleep Float(interval)
  end
end
