# frozen_string_literal: true

# GitLab-shaped jobs for the real-Sidekiq test of `sidekiq-migrate run --catalog --rules`
# (test/compat/real-sidekiq-gitlab-cli.test.ts): Sidekiq workers named as GitLab's
# (their classes are in the CE catalog, test/fixtures/gitlab/all_queues.yml), an ActiveJob
# class that a hand-written catalog entry makes routable, and ActionMailer mail delivered
# with deliver_later (Rails 6.1's ActionMailer::MailDeliveryJob through the ActiveJob
# adapter: never routable by GitLab rules). Builds on workers.rb (its Harness records
# every perform to HARNESS_OUT). Needs Debian's ruby-actionmailer.

require_relative "workers"
require "action_mailer"

# GitLab's own workers keep their generated queue unless routing says otherwise; here every
# job names its queue (the old one) through set(queue:), as a GitLab with other rules pushed it.
module GitlabHarnessWorker
  def self.included(base)
    base.include Sidekiq::Worker
  end

  # args[0] == "fail-once": fails on its first attempt (no retry_count yet), then succeeds.
  def perform(*args)
    job = (Thread.current[:harness_ctx] || {})[:job] || {}
    raise Harness::PlannedFailure, "planned failure on the first attempt" if args[0] == "fail-once" && job["retry_count"].nil?

    Harness.record(jid, self.class.name, args)
  end
end

class PostReceive
  include GitlabHarnessWorker
  sidekiq_options retry: 3
  sidekiq_retry_in { |_count, _exception| Integer(ENV.fetch("HARNESS_RETRY_IN", "1")) }
end

class MergeWorker
  include GitlabHarnessWorker
end

class AdminEmailWorker
  include GitlabHarnessWorker
end

class DeleteDiffFilesWorker
  include GitlabHarnessWorker
end

# Mail: delivered to ActionMailer's :test deliveries; the mailer's action runs when the
# MailDeliveryJob performs, and records the Sidekiq jid of the job running it.
ActionMailer::Base.delivery_method = :test
ActionMailer::Base.logger = Logger.new(IO::NULL)
ActionMailer::Base.deliver_later_queue_name = :mailers
# What GitLab (and every Rails >= 6.0 app with its defaults) enqueues; Rails 6.1 without an app
# would still use the deprecated ActionMailer::DeliveryJob.
ActionMailer::Base.delivery_job = ActionMailer::MailDeliveryJob

class HarnessMailer < ActionMailer::Base
  default from: "gitlab@example.com"

  def notice(number)
    ctx = Thread.current[:harness_ctx] || {}
    jid = (ctx[:job] || {})["jid"]
    Harness.record(jid, "ActionMailer::MailDeliveryJob", [number]) if Sidekiq.server?
    mail(to: "user#{number}@example.com", subject: "notice #{number}", body: "n #{number}")
  end
end
