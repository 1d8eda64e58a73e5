/**
 * One maintenance window as a self-contained HTML page: text tables for the change record,
 * and Chart.js (inlined by the caller, no network) for the step timeline and the Sidekiq
 * samples. Every value is escaped; the chart data travels as JSON in a non-executed script.
 */
import type { EntryCountsView, StepTiming, UpdateView, WindowView } from "./window";

export function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}

/** JSON safe inside a <script> element: no `</script>`, no HTML comment openers. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

export function formatSeconds(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "—";
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m < 120 ? `${m} min ${s} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}

const seconds = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;

/** The timeline of one update for Chart.js: one floating bar per step, seconds from the update's start. */
export function timelineData(update: UpdateView) {
  const origin = update.startTime;
  const starts = update.steps.flatMap((s) =>
    s.unchanged || !s.startedAt ? [] : [Math.max(0, seconds(origin, s.startedAt))],
  );
  return {
    title: `update ${update.version} (${update.phase})`,
    labels: update.steps.map((s, i) => `${i + 1}. ${s.name}`),
    bars: update.steps.map((s) =>
      s.unchanged || !s.startedAt || !s.finishedAt
        ? null
        : [Math.max(0, seconds(origin, s.startedAt)), Math.max(0, seconds(origin, s.finishedAt))],
    ),
    kinds: update.steps.map((s) => s.kind),
    /** The axis starts at the first step, not at the update's start: loading the program is no step. */
    axisFrom: starts.length > 0 ? Math.floor(Math.min(...starts)) : 0,
  };
}

function stepRows(steps: StepTiming[]): string {
  return steps
    .map((s, i) => {
      const duration = s.startedAt && s.finishedAt ? formatSeconds(seconds(s.startedAt, s.finishedAt)) : "—";
      const note = s.unchanged ? " <em>(no change in this update)</em>" : "";
      return (
        `<tr class="step" data-step="${escapeHtml(s.name)}"><td>${i + 1}</td><td>${escapeHtml(s.name)}</td>` +
        `<td>${escapeHtml(s.action)}${note}</td><td>${escapeHtml(s.startedAt ?? "—")}</td>` +
        `<td>${escapeHtml(s.finishedAt ?? "—")}</td><td>${duration}</td></tr>`
      );
    })
    .join("\n");
}

function updateSection(update: UpdateView, canvasId: string): string {
  const height = 60 + 30 * update.steps.length;
  return `
<section>
  <h2>${escapeHtml(update.phase === "shutdown" ? "Shutdown" : "Startup")}: update ${update.version}
    <span class="result ${escapeHtml(update.result)}">${escapeHtml(update.result)}</span></h2>
  <dl>
    <dt>started</dt><dd>${escapeHtml(update.startTime)}</dd>
    <dt>ended</dt><dd>${escapeHtml(update.endTime ?? "—")}</dd>
    <dt>message</dt><dd class="message">${escapeHtml(update.message || "(none: pass --message to pulumi up)")}</dd>
    <dt>ran by</dt><dd>${escapeHtml(update.ranBy)}</dd>
  </dl>
  <div class="chart" style="height:${height}px"><canvas id="${canvasId}"></canvas></div>
  <table class="steps">
    <thead><tr><th>#</th><th>step</th><th>what</th><th>started</th><th>finished</th><th>took</th></tr></thead>
    <tbody>
${stepRows(update.steps)}
    </tbody>
  </table>
</section>`;
}

function servicesTable(window: WindowView): string {
  const startup = new Map((window.startup?.services ?? []).map((s) => [s.name, s]));
  const rows = window.shutdown.services
    .map((s) => {
      const up = startup.get(s.name);
      return (
        `<tr><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.workloadName ?? "")}</td>` +
        `<td>${escapeHtml(s.previousCount ?? "—")}</td><td>${escapeHtml(s.reachedCount ?? "—")}</td>` +
        `<td>${escapeHtml(up?.reachedCount ?? "—")}</td></tr>`
      );
    })
    .join("\n");
  return `<table><thead><tr><th>service</th><th>workload</th><th>before</th><th>during</th><th>after</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

function keyValues(entries: Array<[string, unknown]>): string {
  return (
    "<dl>" +
    entries
      .filter(([, v]) => v !== undefined && v !== "")
      .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
      .join("") +
    "</dl>"
  );
}

function downtimeText(window: WindowView): string {
  const d = window.downtime;
  if (d.untilSource === "open") return `since ${escapeHtml(d.from ?? "?")}: the window is still open`;
  const label =
    d.untilSource === "tines-healthy"
      ? "first service stopped → Tines reported healthy"
      : "first service stopped → last service reported ready (no Tines health check recorded in this window)";
  return `<strong>${formatSeconds(d.seconds)}</strong> <span class="note">${label}; ${escapeHtml(d.from ?? "?")} → ${escapeHtml(d.until ?? "?")}</span>`;
}

function migrationSection(migration: Record<string, unknown> | undefined): string {
  if (!migration) return "<p>No database migration in this window.</p>";
  const s = migration.seconds as Record<string, unknown> | undefined;
  return keyValues([
    ["from", migration.source],
    ["to", migration.target],
    ["tables compared", migration.tables],
    ["tables checksummed", migration.checksummedTables],
    ["rows", migration.rows],
    ["sequences", migration.sequences],
    ["mismatches", migration.mismatches],
    ["result", migration.summary],
    ["parallel jobs", migration.jobs],
    [
      "seconds (dump / restore / verify / total)",
      s ? `${s.dump} / ${s.restore} / ${s.verify} / ${s.total}` : undefined,
    ],
  ]);
}

/** What no drain empties, and what the Redis move did with it. */
function sidekiqJobsSection(window: WindowView): string {
  const held = window.sidekiqHeld;
  const carry = window.sidekiqCarry;
  if (!held && !carry) return "<p>No record of scheduled jobs, retries or dead jobs in this window.</p>";
  const parts: string[] = [];
  if (held) {
    parts.push(
      `<p id="sidekiq-held">${escapeHtml(held.summary)} <span class="note">(${escapeHtml(held.from)}, last sample)</span></p>`,
    );
  }
  if (carry) {
    const kinds = ["scheduled", "retries", "dead", "queued"] as const;
    const row = (label: string, counts: EntryCountsView | undefined) =>
      counts
        ? `<tr><td>${escapeHtml(label)}</td>${kinds.map((k) => `<td>${escapeHtml(counts[k])}</td>`).join("")}</tr>`
        : "";
    parts.push(
      `<p id="sidekiq-carry"><strong>${escapeHtml(carry.outcome)}</strong>: ${escapeHtml(carry.summary)}</p>`,
      keyValues([
        ["from", carry.from],
        ["to", carry.to],
        ["sidekiq.onRedisSwitch", carry.mode],
        ["next scheduled job due", carry.held?.nextScheduledAt],
        ["next retry due", carry.held?.nextRetryAt],
        ["method", carry.method],
        ["took", carry.seconds === undefined ? undefined : formatSeconds(carry.seconds)],
        ["finished", carry.finishedAt],
      ]),
      `<table><thead><tr><th></th>${kinds.map((k) => `<th>${k}</th>`).join("")}</tr></thead><tbody>
${row("in the old Redis", carry.held)}
${row("in the new Redis, verified", carry.carried)}
${row("left behind", carry.leftBehind)}
</tbody></table>`,
      ...carry.warnings.map((w) => `<p class="note">warning: ${escapeHtml(w)}</p>`),
    );
  }
  return parts.join("\n");
}

/** The page. `chartJs` is the Chart.js UMD bundle, inlined as is. */
export function renderWindowHtml(window: WindowView, chartJs: string, generatedAt = new Date()): string {
  const updates = [window.shutdown, ...(window.startup ? [window.startup] : [])];
  const chartData = {
    timelines: updates.map((u, i) => ({ canvas: `timeline-${i}`, ...timelineData(u) })),
    sidekiq: [
      { label: "pre-flight: pending", samples: window.preflightSamples, key: "pending" },
      { label: "drain gate: pending", samples: window.drainSamples, key: "pending" },
      { label: "drain gate: busy", samples: window.drainSamples, key: "busy" },
    ].map((series) => ({
      label: series.label,
      points: series.samples.map((s) => ({
        x:
          window.preflightSamples[0] || window.drainSamples[0]
            ? seconds((window.preflightSamples[0] ?? window.drainSamples[0]).at, s.at)
            : 0,
        y: series.key === "pending" ? s.pending : s.busy,
      })),
    })),
  };
  const e = window.endpoints;
  const title = `Maintenance window: ${window.stack}, updates ${window.shutdown.version}${window.startup ? `–${window.startup.version}` : " (open)"}`;
  // Chart.js may not contain "</script"; the bundle is checked by the caller.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #1d2330; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #dde; padding-bottom: 4px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; } dt { color: #5a6275; } dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; } th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eef; font-variant-numeric: tabular-nums; }
th { color: #5a6275; font-weight: 600; } .chart { position: relative; width: 100%; margin: 8px 0; }
.summary { background: #f4f6fb; border-radius: 8px; padding: 12px 16px; } .note { color: #5a6275; }
.result { font-size: 12px; padding: 1px 6px; border-radius: 4px; background: #e6f4ea; color: #1e6b35; } .result.failed { background: #fde8e8; color: #9b1c1c; }
code, .sha { font-family: ui-monospace, monospace; word-break: break-all; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="note">Generated ${escapeHtml(generatedAt.toISOString())} by <code>maint report</code> from <code>pulumi stack history</code> and the stack's exported deployments. Secret values are never read: they show as [secret].</p>
<div class="summary">
  <dl>
    <dt>downtime</dt><dd id="downtime">${downtimeText(window)}</dd>
    <dt>shutdown message</dt><dd>${escapeHtml(window.shutdown.message || "(none)")}</dd>
    <dt>startup message</dt><dd>${escapeHtml(window.startup?.message || "(none)")}</dd>
    <dt>ran by</dt><dd>${escapeHtml([...new Set(updates.map((u) => u.ranBy))].join("; "))}</dd>
  </dl>
</div>
${updates.map((u, i) => updateSection(u, `timeline-${i}`)).join("\n")}
<section>
  <h2>Sidekiq queue</h2>
  ${
    window.preflightSamples.length + window.drainSamples.length > 0
      ? `<div class="chart" style="height:240px"><canvas id="sidekiq"></canvas></div>
  <p class="note">${window.preflightSamples.length} pre-flight and ${window.drainSamples.length} drain-gate samples; outcome: ${escapeHtml(
    (window.shutdown.audit.sidekiqDrain as { outcome?: string } | undefined)?.outcome ?? "—",
  )}.</p>`
      : "<p>No Sidekiq gate ran in this window.</p>"
  }
</section>
<section>
  <h2>Sidekiq jobs no drain empties</h2>
  ${sidekiqJobsSection(window)}
</section>
<section>
  <h2>Services</h2>
  ${servicesTable(window)}
</section>
<section>
  <h2>Database backup</h2>
  ${
    window.backup
      ? keyValues([
          ["location", window.backup.location],
          ["size", formatBytes(window.backup.bytes)],
          ["sha256", window.backup.sha256],
        ])
      : "<p>No backup in this window.</p>"
  }
</section>
<section>
  <h2>Database migration</h2>
  ${migrationSection(window.migration)}
</section>
<section>
  <h2>Endpoints</h2>
  ${
    e
      ? `<table><thead><tr><th></th><th>before</th><th>after</th></tr></thead><tbody>
<tr><td>DATABASE_HOST</td><td>${escapeHtml(e.databaseBefore ?? "—")}</td><td>${escapeHtml(e.databaseAfter ?? "—")}</td></tr>
<tr><td>REDIS_URL host</td><td>${escapeHtml(e.redisBefore ?? "—")}</td><td>${escapeHtml(e.redisAfter ?? "—")}</td></tr>
</tbody></table><p class="note">written ${escapeHtml(e.switchedAt ?? "—")}</p>`
      : "<p>No endpoint switch in this window.</p>"
  }
</section>
<script type="application/json" id="chart-data">${scriptJson(chartData)}</script>
<script>
${chartJs.replace(/\/\/# sourceMappingURL=\S+\s*$/, "")}
</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 12;
  data.timelines.forEach(function (t) {
    new Chart(document.getElementById(t.canvas), {
      type: "bar",
      data: { labels: t.labels, datasets: [{ label: t.title, data: t.bars,
        backgroundColor: t.kinds.map(function (k) { return k === "service" ? "#3b6fd8" : "#e0982f"; }),
        borderSkipped: false, barPercentage: 0.7 }] },
      options: { indexAxis: "y", responsive: true, maintainAspectRatio: false,
        plugins: { legend: { display: false }, title: { display: true, text: t.title + ": one bar per step (blue: service, orange: gate)" } },
        scales: { x: { type: "linear", min: t.axisFrom, title: { display: true, text: "seconds from the update's start" } } } }
    });
  });
  var canvas = document.getElementById("sidekiq");
  if (canvas) {
    new Chart(canvas, {
      type: "line",
      data: { datasets: data.sidekiq.filter(function (s) { return s.points.length; }).map(function (s, i) {
        return { label: s.label, data: s.points, borderColor: ["#8a63d2", "#3b6fd8", "#d8453b"][i % 3], pointRadius: 2, stepped: true };
      }) },
      options: { responsive: true, maintainAspectRatio: false, parsing: true,
        scales: { x: { type: "linear", title: { display: true, text: "seconds from the first sample" } },
                  y: { beginAtZero: true, title: { display: true, text: "jobs" } } } }
    });
  }
})();
</script>
</body>
</html>
`;
}
