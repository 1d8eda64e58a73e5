# Sidekiq's own client and data API, for tests: reads one JSON request from argv[0] and
# prints one JSON answer. REDIS_URL names the Redis (as the Sidekiq server reads it).
#   {"op":"push","class":"SleepJob","args":[3],"queue":"default","in":null,"count":1}  => {"jids":[...]}
#   {"op":"report"}  => Sidekiq::Queue / ScheduledSet / RetrySet / DeadSet / ProcessSet / Workers
require "json"
require "sidekiq"
require "sidekiq/api"
require_relative "jobs"

request = JSON.parse(ARGV.fetch(0))
answer =
  case request.fetch("op")
  when "push"
    klass = Object.const_get(request.fetch("class"))
    queue = request["queue"] || "default"
    jids = Array.new(request["count"] || 1) do
      setter = klass.set(queue: queue)
      request["in"] ? setter.perform_in(request["in"].to_f, *request["args"]) : setter.perform_async(*request["args"])
    end
    { "jids" => jids }
  when "report"
    processes = Sidekiq::ProcessSet.new.to_a
    {
      "queues" => Sidekiq::Queue.all.sort_by(&:name).map { |q|
        { "name" => q.name, "size" => q.size, "latency" => q.latency, "paused" => q.paused? }
      },
      "enqueued" => Sidekiq::Stats.new.enqueued,
      "scheduled" => Sidekiq::ScheduledSet.new.size,
      "retries" => Sidekiq::RetrySet.new.size,
      "dead" => Sidekiq::DeadSet.new.size,
      "processes" => processes.size,
      "busy" => processes.sum { |p| p["busy"].to_i },
      "workers" => Sidekiq::Workers.new.size,
      "identities" => processes.map { |p| p["identity"] },
      "beats" => processes.map { |p| p["beat"] },
      "jids" => {
        "queued" => Sidekiq::Queue.all.flat_map { |q| q.map(&:jid) },
        "scheduled" => Sidekiq::ScheduledSet.new.map(&:jid),
        "retry" => Sidekiq::RetrySet.new.map(&:jid),
        "dead" => Sidekiq::DeadSet.new.map(&:jid),
        "working" => Sidekiq::Workers.new.map { |_p, _t, work| work["payload"]["jid"] },
        "done" => Sidekiq.redis { |r| r.lrange("test:done", 0, -1) },
      },
      "doneAt" => Sidekiq.redis { |r| r.hgetall("test:done_at") }.transform_values(&:to_f),
    }
  else
    raise ArgumentError, "unknown op #{request["op"]}"
  end
puts JSON.generate(answer)
