# frozen_string_literal: true

# Our own re-implementation of the algorithm behind GitLab's
# `gitlab:sidekiq:migrate_jobs:{schedule,retry,queued}` rake tasks, written from the
# behavioural description in the GitLab reference (gitlab-reference §3.1-3.2) (not from GitLab's code). It exists
# only as a PERFORMANCE BASELINE: same Redis command sequence, same round trips, same
# per-job parse/re-serialise work, same log lines.
#
#   ruby bench/baselines/gitlab_algorithm.rb REDIS_URL set [NAME]   [options]   # NAME defaults to schedule
#   ruby bench/baselines/gitlab_algorithm.rb REDIS_URL queued       [options]
#
# Options:
#   --all-to QUEUE    mapping = every real worker of the CE catalog -> QUEUE (default: default)
#   --mapping FILE    mapping = JSON object {"WorkerClass": "queue", ...} (overrides --all-to)
#   --log FILE        where the GitLab-format log lines go (default: stdout)
#   --json oj|stdlib  JSON library (default: oj when installed, GitLab uses Oj; else stdlib)
#   --delay-ms X      busy-wait X ms before every Redis round trip (RTT emulation without tc)
#
# One JSON summary line goes to stderr: seconds, jobs, jobs_per_s, Redis commands issued.
require 'redis'
require 'json'
require 'logger'
require 'yaml'

module GitlabAlgorithm
  # The CE worker catalog: CATALOG in the environment, else the repository's copy
  # (test/fixtures/gitlab/all_queues.yml), used only without --mapping.
  CATALOG = ENV.fetch('CATALOG') { File.expand_path('../../test/fixtures/gitlab/all_queues.yml', __dir__) }
  SET_LOG_EVERY = 1_000
  QUEUE_LOG_EVERY = 10

  # Plain request/response client: one round trip per command, raw replies (scores stay
  # strings), optional emulated RTT, and a per-command counter.
  class Conn
    attr_reader :counts

    def initialize(url, delay_s)
      @redis = Redis.new(url: url)
      @delay_s = delay_s
      @counts = Hash.new(0)
    end

    def cmd(*args)
      @counts[args[0]] += 1
      spin(@delay_s) if @delay_s.positive?
      @redis.call(*args)
    end

    def close = @redis.close

    private

    def spin(seconds)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
      nil while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
    end
  end

  Codec = Struct.new(:name, :parse, :dump)

  def self.codec(choice)
    if choice != 'stdlib'
      begin
        require 'oj'
      rescue LoadError
        raise if choice == 'oj'
      end
    end
    if defined?(Oj)
      # GitLab's setup: an initializer calls Oj.optimize_rails (ActiveSupport loaded); its JSON
      # helper loads with mode :rails and dumps with Oj.dump(obj, {}), i.e. Oj's default
      # (:object) mode. Those dump settings write -0.0 as 0.0, 1.0e+20 as 1e+20 and cut floats
      # to ~15 significant digits. We reproduce that so the rewritten bytes (and so the ZSCAN
      # re-scan pattern) match GitLab's. Without ActiveSupport some floats print differently.
      rails = begin
        require 'active_support'
        require 'active_support/json'
        Oj.optimize_rails
        true
      rescue LoadError
        false
      end
      return Codec.new("oj #{Oj::VERSION} (load :rails, dump defaults#{rails ? ', optimize_rails' : ''})",
                       ->(s) { Oj.load(s, mode: :rails) },
                       ->(h) { Oj.dump(h, {}) })
    end
    Codec.new("json #{JSON::VERSION} (stdlib)", ->(s) { JSON.parse(s) }, ->(h) { JSON.generate(h) })
  end

  def self.catalog_mapping(queue)
    YAML.unsafe_load_file(CATALOG)
        .reject { |r| r[:worker_name].nil? || r[:worker_name] == 'ActionMailer::MailDeliveryJob' }
        .to_h { |r| [r[:worker_name], queue] }
  end

  def self.parse_error?(e) = e.is_a?(JSON::ParserError) || (defined?(Oj::ParseError) && e.is_a?(Oj::ParseError)) || e.is_a?(EncodingError)

  # §3.1: sorted set (schedule / retry).
  def self.migrate_set(conn, codec, mapping, set, log)
    # literal "contains any class name" prefilter; nothing passes when the mapping is empty
    prefilter = mapping.empty? ? nil : Regexp.union(mapping.keys)
    scanned = 0
    migrated = 0
    log.info("Processing #{set} set. Estimated size: #{conn.cmd('ZCARD', set)}.")
    cursor = '0'
    loop do
      cursor, flat = conn.cmd('ZSCAN', set, cursor) # no COUNT: Redis default (10)
      flat.each_slice(2) do |member, score|
        if scanned.positive? && (scanned % SET_LOG_EVERY).zero?
          log.info("In progress. Scanned records: #{scanned}. Migrated records: #{migrated}.")
        end
        scanned += 1
        next unless prefilter && prefilter.match?(member)

        job = codec.parse.call(member) # a parse error is NOT caught: it aborts, as in GitLab
        next unless job.is_a?(Hash) && mapping.key?(job['class'])

        target = mapping[job['class']]
        next if job['queue'] == target

        job['queue'] = target
        removed = conn.cmd('ZREM', set, member)
        next unless removed.is_a?(Integer) && removed.positive?

        conn.cmd('ZADD', set, score, codec.dump.call(job))
        migrated += 1
      end
      break if cursor == '0'
    end
    log.info("Done. Scanned records: #{scanned}. Migrated records: #{migrated}.")
    { scanned: scanned, migrated: migrated }
  end

  # §3.2: queue:* lists.
  def self.migrate_queues(conn, codec, mapping, log)
    destinations = mapping.values.uniq
    log.info("List of queues based on routing rules: #{destinations}")
    total = 0
    cursor = '0'
    loop do
      cursor, keys = conn.cmd('SCAN', cursor, 'MATCH', 'queue:*')
      keys.each do |key|
        next unless conn.cmd('TYPE', key) == 'list'

        source = key.split(':', 2)[1]
        next if destinations.include?(source)

        log.info("Migrating #{source} queue")
        moved = 0
        while conn.cmd('LLEN', "queue:#{source}").positive?
          if (moved % QUEUE_LOG_EVERY).zero?
            log.info("Migrating from #{source}. Total: #{conn.cmd('LLEN', "queue:#{source}")}. Migrated: #{moved}.")
          end
          raw = conn.cmd('RPOP', "queue:#{source}")
          # GitLab hands a nil pop (a consumer raced us) to its JSON helper, which returns nil,
          # and then fails on nil['class']; we fail the same way, loudly.
          raise "RPOP on queue:#{source} returned nil after LLEN > 0" if raw.nil?

          begin
            job = codec.parse.call(raw)
          rescue StandardError => e
            raise unless parse_error?(e)

            log.error("Unmarshal JSON payload from SidekiqMigrateJobs failed. Job: #{raw}")
            next # the popped job is dropped, as in GitLab
          end
          next unless job.is_a?(Hash) && mapping.key?(job['class']) # unmapped: dropped, as in GitLab

          job['queue'] = mapping[job['class']]
          conn.cmd('LPUSH', "queue:#{job['queue']}", codec.dump.call(job))
          moved += 1
        end
        total += moved
        log.info("Finished migrating #{source} queue")
      end
      break if cursor == '0'
    end
    { migrated: total }
  end

  def self.main(argv)
    args = argv.dup
    opt = ->(name) { (i = args.index(name)) ? args.slice!(i, 2)[1] : nil }
    all_to = opt.call('--all-to') || 'default'
    mapping_file = opt.call('--mapping')
    log_to = opt.call('--log')
    json_choice = opt.call('--json') || 'auto'
    delay_ms = Float(opt.call('--delay-ms') || 0)
    url, mode, set = args
    unless url && %w[set queued].include?(mode)
      warn 'usage: ruby bench/baselines/gitlab_algorithm.rb REDIS_URL set [NAME] | queued [--all-to Q] [--mapping F] [--log F] [--json oj|stdlib] [--delay-ms X]'
      exit 2
    end
    set ||= 'schedule'
    mapping = mapping_file ? JSON.parse(File.read(mapping_file)) : catalog_mapping(all_to)
    codec = codec(json_choice)
    log = Logger.new(log_to ? log_to : $stdout)
    conn = Conn.new(url, delay_ms / 1000.0)
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    result = mode == 'set' ? migrate_set(conn, codec, mapping, set, log) : migrate_queues(conn, codec, mapping, log)
    seconds = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
    jobs = result[:migrated]
    warn JSON.generate(impl: 'ours-gitlab-algorithm', mode: mode, json: codec.name, delay_ms: delay_ms,
                       seconds: seconds.round(4), result: result,
                       jobs_per_s: seconds.positive? ? (jobs / seconds).round(1) : nil,
                       commands: conn.counts, total_commands: conn.counts.values.sum)
  ensure
    conn&.close
  end
end

GitlabAlgorithm.main(ARGV) if $PROGRAM_NAME == __FILE__
