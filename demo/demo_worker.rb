# The job the demo's real Sidekiq runs: a second of work, so that the drain gate sees the
# queue fall and the busy count go to zero as the jobs finish.
require "sidekiq"

class DemoJob
  include Sidekiq::Worker

  def perform(seconds)
    sleep(seconds)
  end
end
