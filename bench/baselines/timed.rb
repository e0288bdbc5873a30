# frozen_string_literal: true

# Runs a baseline script unchanged and reports, as one JSON line on stderr, how long it ran once
# Ruby and the redis gem were loaded: the in-process time beside the whole command's wall time;
# and the process's peak RSS (VmHWM, Linux) in KiB.
#   ruby bench/baselines/timed.rb SCRIPT ARGS...
require 'redis'
require 'json'
script = ARGV.shift
t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
peak_rss_kb = lambda do
  File.foreach('/proc/self/status') { |l| return Integer(l.split[1]) if l.start_with?('VmHWM:') }
  nil
rescue SystemCallError
  nil
end
at_exit { warn JSON.generate(seconds: (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0).round(4), peak_rss_kb: peak_rss_kb.call) }
load File.expand_path(script)
