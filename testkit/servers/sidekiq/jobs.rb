# Job classes for the real Sidekiq server the tests start (testkit/servers/sidekiq.ts), loaded
# with `sidekiq -r`. Every job that finishes records its jid in the `test:done` list, so a
# test can prove that no job was lost: each enqueued jid is either still in Redis or done.
require "sidekiq"

# redis 4.8 warns on every SADD about its 5.0 API; the warnings are noise in test output.
Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)

Sidekiq.configure_server do |config|
  # The scheduled-set poller waits 5 s on average by default; the tests schedule with
  # `perform_in` a few seconds ahead and want the enqueue soon after the due time.
  config.options[:average_scheduled_poll_interval] = 1
  config.options[:poll_interval_average] = 1
end

module TestJobDone
  def record_done
    Sidekiq.redis do |r|
      r.rpush("test:done", jid)
      r.hset("test:done_at", jid, Time.now.to_f)
    end
  end
end

# Sleeps for `seconds`, then records itself done.
class SleepJob
  include Sidekiq::Worker
  include TestJobDone
  sidekiq_options retry: 3

  def perform(seconds)
    sleep(seconds.to_f)
    record_done
  end
end

# Raised by FailJob; carries the retry delay because Sidekiq 6's sidekiq_retry_in block
# gets (count, exception) only, not the job.
class TestJobFailure < StandardError
  attr_reader :retry_in

  def initialize(retry_in)
    @retry_in = retry_in
    super("FailJob fails on purpose (retry in #{retry_in}s)")
  end
end

# Always fails; its retry is scheduled `retry_in` seconds later (an hour unless told).
class FailJob
  include Sidekiq::Worker
  sidekiq_options retry: 5, backtrace: false
  sidekiq_retry_in { |_count, exception| exception.is_a?(TestJobFailure) ? exception.retry_in : 3600 }

  def perform(retry_in = 3600)
    raise TestJobFailure, retry_in.to_i
  end
end

# Fails with no retries allowed, so Sidekiq sends it straight to the dead set.
class DeadJob
  include Sidekiq::Worker
  sidekiq_options retry: 0, backtrace: false

  def perform
    raise "DeadJob fails on purpose, no retries"
  end
end

# Fails until `succeed_at` (epoch seconds), with its retry `retry_in` seconds later; then
# records itself done. So its first attempt fails on one Redis and its retry can succeed on
# another, after a Redis move.
class FlakyJob
  include Sidekiq::Worker
  include TestJobDone
  sidekiq_options retry: 5, backtrace: false
  sidekiq_retry_in { |_count, exception| exception.is_a?(TestJobFailure) ? exception.retry_in : 3600 }

  def perform(succeed_at, retry_in)
    raise TestJobFailure, retry_in.to_i if Time.now.to_f < succeed_at.to_f
    record_done
  end
end
