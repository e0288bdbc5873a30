# frozen_string_literal: true

# reliable_fetch_workers.rb (GitLab's reliable fetcher) plus LongJob, a job that runs until the
# test opens a gate (the key `harness:gate` exists in its Redis), so that a graceful restart (TERM)
# before then always interrupts it, whatever the machine's timing: after the shutdown timeout
# (`-t 5`) the fetcher's bulk_requeue LPUSHes it back onto the queue it was fetched from, its
# payload re-serialised by Sidekiq with `interrupted_count` added, and the interrupted run records
# nothing. For test/compat/real-sidekiq-reliable-restart.test.ts.

require_relative "reliable_fetch_workers"

class LongJob
  include Sidekiq::Worker

  GATE_KEY = "harness:gate"
  GATE_TIMEOUT = 120

  def perform(*args)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + GATE_TIMEOUT
    until Sidekiq.redis { |c| c.exists?(GATE_KEY) }
      raise Harness::PlannedFailure, "the gate was not opened within #{GATE_TIMEOUT} s" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.05
    end
    Harness.record(jid, self.class.name, args)
  end
end
