# frozen_string_literal: true

# workers.rb plus LongJob, a job that runs until the test opens a gate (the key `harness:gate`
# exists in its Redis), so that it is running for as long as the test needs, whatever the machine's
# timing: a graceful stop (TERM) before then always interrupts it at the shutdown timeout (`-t 5`),
# and the interrupted run records nothing. With Sidekiq's own (basic) fetch the job is then pushed
# back onto its queue; reliable_restart_workers.rb adds GitLab's reliable fetcher.

require_relative "workers"

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
