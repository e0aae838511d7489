# Sourced by scripts/run-bench after the scenarios: formats the figures collected in
# R[] (one value per repetition) and RSS[], prints the table and the details of
# scenarios 6 and 7, draws the pictures with gnuplot and, for a docs run, replaces
# the results part of docs/BENCHMARKS.md (between its two markers).
# shellcheck shell=bash

# --- formatting ---------------------------------------------------------------------------
num() { awk -v x="$1" 'BEGIN { if (x == "") { print "–"; exit } x = sprintf("%.0f", x); s = "";
  while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) } print x s }'; }
ms() { awk -v x="$1" 'BEGIN { if (x == "") print "–"; else if (x / 1000 >= 100) printf "%.0f", x / 1000;
  else if (x / 1000 >= 10) printf "%.1f", x / 1000; else printf "%.2f", x / 1000 }'; }  # µs → ms text
fix2() { awk -v x="$1" 'BEGIN { if (x == "") print "–"; else printf "%.2f", x }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "") print "–"; else printf "%.0f MiB", k / 1024 }'; }  # kB → MiB text
# A figure with its spread over repetitions: "12,345 (12,001–12,800)".
spread() {  # spread KEY FORMATTER
  local m n
  m=$(med "$1") n=$(nvals "$1")
  if [[ $n -gt 1 && -n $m ]]; then
    echo "$($2 "$m") ($($2 "$(stat_of min "$1")")–$($2 "$(stat_of max "$1")"))"
  else
    $2 "$m"
  fi
}
rate_cell() { spread "$1" num; }
ratio_cell() { spread "$1" fix2; }
rss_cell() { mib "${RSS[$1]:-}"; }
cpu_cell() { awk -v s="$(med "$1.cpu_svc")" -v r="$(med "$1.cpu_red")" 'BEGIN { if (s == "") print "– | –"; else printf "%.1f | %.1f", s, r }'; }

# Scenarios 1 to 8 make the main results section; 9 has a section of its own.
main_all=1 main_any=0
for s in 1 2 3 4 5 6 7 8; do if want "$s"; then main_any=1; else main_all=0; fi; done

# --- the table --------------------------------------------------------------------------
t_scenarios=$((SECONDS - t_start))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
note_load
missing=()
# row LABEL SERVICE_CELL LIMIT_CELL RATIO_CELL LAT_KEY LIMIT_P99 RSS_KEY CPU_KEY
row() {
  [[ $2 == –* ]] && missing+=("$1")
  echo "| $1 | $2 | $3 | $4 | $(lat4 "$5") | $6 | $(rss_cell "$7") | $(cpu_cell "$8") |"
}
lat4() {
  [[ -z $1 ]] && { echo "| | |"; return; }
  echo "$(ms "$(med "$1.p50_us")") | $(ms "$(med "$1.p90_us")") | $(spread "$1.p99_us" ms) | $(ms "$(med "$1.p999_us")")"
}
ratek() { awk -v r="$1" 'BEGIN { if (r % 1000 == 0) printf "%dk", r / 1000; else print r }'; }
table=$work/table.md
{
  echo "| scenario | service | limit (same run) | ratio | p50 ms | p90 ms | p99 ms | p99.9 ms | limit p99 ms | peak RSS | svc CPU µs/msg | redis CPU µs/msg |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  if want 1; then
    row "1 single publish, 50 conns (req/s) vs 204 responder" "$(rate_cell s1.svc.rps)" "$(rate_cell s1.ref.rps)" \
      "$(ratio_cell s1.ratio)" s1.svc "$(ms "$(med s1.ref.p99_us)")" s1 s1
  fi
  if want 2; then
    row "2 batch publish, 100/batch, 16 conns (msg/s) vs redis-benchmark -P 32 XADD" "$(rate_cell s2.svc.rate)" \
      "$(rate_cell s2.ref.rate)" "$(ratio_cell s2.ratio)" s2.svc – s2 s2
  fi
  if want 3; then
    row "3a delivery, 1 subscription, N=$n_deliv (deliveries/s) vs sink raw (wrk -c64)" "$(rate_cell s3.one.rate)" \
      "$(rate_cell sink.rate)" "$(ratio_cell s3.one.ratio)" s3.one – s3.one s3.one
    row "3b delivery, fan-out to $fan_subs, N=$n_fan (deliveries/s) vs sink raw" "$(rate_cell s3.fan.rate)" \
      "$(rate_cell sink.rate)" "$(ratio_cell s3.fan.ratio)" s3.fan – s3.fan s3.fan
  fi
  if want 4; then
    for rate in ${e2e_rates//,/ }; do
      k=$(ratek "$rate")
      row "4 e2e $k msg/s: intended send → webhook arrival (msg/s achieved) vs publisher → sink direct" \
        "$(rate_cell s4.$rate.rate)" "$(rate_cell s4.$rate.ref.rate)" "p99 ×$(ratio_cell s4.$rate.ratio)" \
        s4.$rate.e2e "$(ms "$(med s4.$rate.ref.p99_us)")" s4.$rate s4.$rate
      echo "| 4 e2e $k msg/s: published_at → webhook arrival (ms resolution, +0–1 ms) | | | | $(lat4 s4.$rate.pa) | | | | |"
      echo "| 4 e2e $k msg/s: publish request → 201 (open loop) | | | | $(lat4 s4.$rate.pub) | | | | |"
    done
  fi
  if want 5; then
    for size in "${sizes[@]}"; do
      row "5 single publish, $size B body, 50 conns (req/s) vs 204 responder" "$(rate_cell s5.$size.svc.rps)" \
        "$(rate_cell s5.$size.ref.rps)" "$(ratio_cell s5.$size.ratio)" s5.$size.svc \
        "$(ms "$(med s5.$size.ref.p99_us)")" s5.$size s5.$size
    done
  fi
  if want 6; then
    row "6 delivery, $fail_pct % of attempts answered 500, N=$n_fail (deliveries/s) vs sink raw" "$(rate_cell s6.rate)" \
      "$(rate_cell sink.rate)" "$(ratio_cell s6.ratio)" s6 – s6 s6
  fi
  if want 7; then
    limit7=–
    [[ -n $(vals s2.ref.rate) ]] && limit7=$(rate_cell s2.ref.rate)
    row "7 $(num "$n_backlog") messages into a paused subscription's backlog, 1000/batch (msg/s) vs redis-benchmark XADD" \
      "$(rate_cell s7.rate)" "$limit7" "$(ratio_cell s7.ratio)" s7 – s7 s7
  fi
  if want 8; then
    row "8a single publish with tracing on (always_on, exported), 50 conns (req/s) vs the same with tracing off" \
      "$(rate_cell s8.on.pub.rps)" "$(rate_cell s8.off.pub.rps)" "$(ratio_cell s8.pub.ratio)" s8.on.pub \
      "$(ms "$(med s8.off.pub.p99_us)")" s8.on.pub s8.on.pub
    row "8b delivery with tracing on, 1 subscription, N=$n_trace (deliveries/s) vs the same with tracing off" \
      "$(rate_cell s8.on.del.rate)" "$(rate_cell s8.off.del.rate)" "$(ratio_cell s8.del.ratio)" s8.on.del \
      "$(ms "$(med s8.off.del.p99_us)")" s8.on.del s8.on.del
  fi
} >"$table"

# Details of scenarios 6 and 7, one column per repetition.
details=$work/details.md
per_rep() {  # per_rep KEY FORMATTER: "a | b | c"
  local v out="" x
  for x in $(vals "$1"); do out+="${out:+ | }$($2 "$x")"; done
  echo "${out:-–}"
}
# per_rep_of FORMATTER KEY...: "a1 / b1 / c1 | a2 / b2 / c2 | ...", one column per repetition.
per_rep_of() {
  local f=$1 r k out="" cell x
  shift
  for r in $(seq 1 "$reps"); do
    cell=""
    for k in "$@"; do
      x=$(vals "$k" | awk -v r="$r" '{ print $r }')
      cell+="${cell:+ / }$($f "$x")"
    done
    out+="${out:+ | }$cell"
  done
  echo "$out"
}
fix1() { awk -v x="$1" 'BEGIN { if (x == "") print "–"; else printf "%.1f", x }'; }
per_rep_sum() { vals "$1" | awk '{ for (i = 1; i <= NF; i++) s += $i } END { if (NF) printf "%d", s }'; }  # over all repetitions
sum_cell() { num "$(per_rep_sum "$1")"; }
pct1() { awk -v x="$1" 'BEGIN { if (x == "") print "–"; else printf "%.1f %%", x }'; }
sec2() { awk -v x="$1" 'BEGIN { if (x == "") print "–"; else printf "%.2f s", x }'; }
mibb() { awk -v b="$1" 'BEGIN { if (b == "") print "–"; else printf "%.0f MiB", b / 1048576 }'; }
{
  hdr="| repetition |"; sep="| --- |"
  for r in $(seq 1 "$reps"); do hdr+=" $r |"; sep+=" ---: |"; done
  if want 6; then
    echo "#### 6: delivery while $fail_pct % of the attempts fail"
    echo
    echo "Retry policy: initial_backoff_ms 50, multiplier 2, max_backoff_ms 1000, jitter 0.2, max_attempts 10. One column per repetition."
    echo
    echo "$hdr"; echo "$sep"
    echo "| deliveries (2xx) per second | $(per_rep s6.rate num) |"
    [[ -n $(vals s6.vs3a) ]] && echo "| … relative to 3a (no failures) in the same repetition | $(per_rep s6.vs3a fix2) |"
    echo "| attempts seen by the sink | $(per_rep s6.attempts num) |"
    echo "| answered 500 | $(per_rep_of num s6.failed) |"
    echo "| … share of the attempts | $(per_rep s6.failed_pct pct1) |"
    echo "| delivered on a retry (attempt > 1) | $(per_rep s6.retried_ok num) |"
    echo "| publishing took | $(per_rep s6.pub_s sec2) |"
    echo "| when publishing ended: delivered / backlog / retrying | $(per_rep_of num s6.delivered_at_pub s6.backlog_pub s6.retrying_pub) |"
    echo "| last delivery after publishing ended | $(per_rep s6.drain_s sec2) |"
    echo "| at the end: backlog / retrying / dead-lettered | $(per_rep_of num s6.backlog_end s6.retrying_end s6.dead) |"
    echo
  fi
  if want 7; then
    echo "#### 7: memory with $(num "$n_backlog") undelivered messages for a paused subscription"
    echo
    echo "One column per repetition; a new subscription and an empty channel in each."
    echo
    echo "$hdr"; echo "$sep"
    echo "| publish rate (msg/s, batches of 1000 over 4 connections) | $(per_rep s7.rate num) |"
    echo "| service RSS before publishing | $(per_rep s7.rss_before mib) |"
    echo "| service peak RSS while publishing | $(per_rep s7.peak_pub mib) |"
    echo "| service RSS 2 s after publishing | $(per_rep s7.rss_after mib) |"
    echo "| stream length / backlog in the subscription's stats | $(per_rep_of num s7.xlen s7.backlog) |"
    echo "| stats.at_risk (undelivered beyond 90 % of retention) | $(per_rep s7.at_risk num) |"
    echo "| redis used_memory with the backlog | $(per_rep s7.redis_used mibb) |"
    echo "| resumed for ${d_resume} s: deliveries per second from the backlog | $(per_rep s7.resume_rate num) |"
    echo "| service peak RSS while resumed | $(per_rep s7.peak_resume mib) |"
    echo
  fi
  if want 8; then
    echo "#### 8: tracing overhead"
    echo
    echo "The service restarted without any OTEL_* variable (off) and with" \
      "\`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:<port>\` (a second http_204_responder)," \
      "\`OTEL_TRACES_SAMPLER=always_on\`, \`OTEL_BSP_SCHEDULE_DELAY=$trace_delay_ms\` (on), in alternating order." \
      "(a) is scenario 1 for ${d_trace} s, (b) is scenario 3a with N=$(num "$n_trace"). Medians (min–max);" \
      "spans are the differences of the service's messaging_trace_spans_exported_total / _dropped_total" \
      "across the measured part."
    echo
    echo "| | tracing off | tracing on | on / off |"
    echo "| --- | ---: | ---: | ---: |"
    echo "| (a) single publish, req/s | $(rate_cell s8.off.pub.rps) | $(rate_cell s8.on.pub.rps) | $(ratio_cell s8.pub.ratio) |"
    echo "| (a) p50 / p99 ms | $(ms "$(med s8.off.pub.p50_us)") / $(spread s8.off.pub.p99_us ms) | $(ms "$(med s8.on.pub.p50_us)") / $(spread s8.on.pub.p99_us ms) | |"
    echo "| (a) service CPU µs/request | $(spread s8.off.pub.cpu_svc fix1) | $(spread s8.on.pub.cpu_svc fix1) | |"
    echo "| (a) redis CPU µs/request | $(spread s8.off.pub.cpu_red fix1) | $(spread s8.on.pub.cpu_red fix1) | |"
    echo "| (a) peak RSS | $(rss_cell s8.off.pub) | $(rss_cell s8.on.pub) | |"
    echo "| (a) spans exported / dropped, all repetitions (exported per request) | $(sum_cell s8.off.pub.exported) / $(sum_cell s8.off.pub.dropped) | $(sum_cell s8.on.pub.exported) / $(sum_cell s8.on.pub.dropped) ($(fix2 "$(div "$(per_rep_sum s8.on.pub.exported)" "$(per_rep_sum s8.on.pub.requests)")")) | |"
    echo "| (b) delivery, deliveries/s | $(rate_cell s8.off.del.rate) | $(rate_cell s8.on.del.rate) | $(ratio_cell s8.del.ratio) |"
    echo "| (b) p50 / p99 ms (batch sent → webhook arrival) | $(ms "$(med s8.off.del.p50_us)") / $(spread s8.off.del.p99_us ms) | $(ms "$(med s8.on.del.p50_us)") / $(spread s8.on.del.p99_us ms) | |"
    echo "| (b) service CPU µs/delivery | $(spread s8.off.del.cpu_svc fix1) | $(spread s8.on.del.cpu_svc fix1) | |"
    echo "| (b) redis CPU µs/delivery | $(spread s8.off.del.cpu_red fix1) | $(spread s8.on.del.cpu_red fix1) | |"
    echo "| (b) peak RSS | $(rss_cell s8.off.del) | $(rss_cell s8.on.del) | |"
    echo "| (b) spans exported / dropped, all repetitions (exported per delivery) | $(sum_cell s8.off.del.exported) / $(sum_cell s8.off.del.dropped) | $(sum_cell s8.on.del.exported) / $(sum_cell s8.on.del.dropped) ($(fix2 "$(div "$(per_rep_sum s8.on.del.exported)" "$(per_rep_sum s8.on.del.count)")")) | |"
    echo
    echo "On / off per repetition (same repetition, minutes apart):"
    echo
    echo "$hdr"; echo "$sep"
    echo "| (a) single publish req/s: off / on | $(per_rep_of num s8.off.pub.rps s8.on.pub.rps) |"
    echo "| (a) on / off | $(per_rep s8.pub.ratio fix2) |"
    echo "| (b) deliveries/s: off / on | $(per_rep_of num s8.off.del.rate s8.on.del.rate) |"
    echo "| (b) on / off | $(per_rep s8.del.ratio fix2) |"
    echo "| spans exported (a) / (b), tracing on | $(per_rep_of num s8.on.pub.exported s8.on.del.exported) |"
    echo "| spans dropped (a) / (b), tracing on | $(per_rep_of num s8.on.pub.dropped s8.on.del.dropped) |"
    echo
  fi
} >"$details"

# Scenario 9 (scale-out): its own section, with its own markers in docs/BENCHMARKS.md.
# CPU is kept as µs per delivery like the other scenarios and shown as seconds per
# 10,000 deliveries (µs / 100).
s10k() { awk -v x="$1" 'BEGIN { if (x == "") print "–"; else printf "%.3f", x / 100 }'; }
# per_core US_PER_MSG: messages per CPU second, to two significant figures (the figure
# is an estimate; more digits would claim a precision it does not have).
per_core() { awk -v x="$1" 'BEGIN { if (x == "" || x <= 0) { print ""; exit } v = 1e6 / x
  p = 10 ^ (int(log(v) / log(10)) - 1); printf "%d", int(v / p + 0.5) * p }'; }
# share KEY1 KEY2: KEY1's share of the sum of both over all repetitions, "48 %"
share() { awk -v a="$(per_rep_sum "$1")" -v b="$(per_rep_sum "$2")" 'BEGIN { if (a + b > 0) printf "%.0f %%", 100 * a / (a + b); else print "–" }'; }
scaleout=$work/scaleout.md
if want 9; then
  for c in a b c; do [[ -z $(med s9.$c.rate) ]] && missing+=("9$c"); done
  a_svc=$(med s9.a.cpu_svc) a_red=$(med s9.a.cpu_red) a_all=$(med s9.a.cpu_all)
  {
    echo "$(nproc) cores; $(num "$n_scale") messages per run over $scale_channels channels with one subscription each" \
      "(\`max_in_flight\` 64 per instance, all to the sink), published in batches of 100 over 4 connections," \
      "batch *b* to channel *b* mod $scale_channels, the connections shared out over the instances that run (2 each in b and c)." \
      "Channels: ${scale_chans//,/, }, picked so that each cluster master owns two ($scale_layout); (a) and (b) use the same ones." \
      "(a) one instance on its own redis-server; (b) a second instance on the same redis-server and subscriptions;" \
      "(c) two instances on a 3-master Redis Cluster (\`--redis-cluster-nodes\`, no replicas)." \
      "In each repetition the instances of a configuration are started for it (only they run), warmed up with 20 messages" \
      "per channel through each, and stopped after it. Rate: deliveries from the first publish to the last delivery." \
      "CPU: utime+stime from \`/proc\`, summed over the configuration's instances and Redis nodes (the publisher and the" \
      "sink are not counted); every message is published through the instances and delivered by them, so the CPU" \
      "covers both. Split: each instance's \`messaging_deliveries_total{outcome=\"success\"}\` (summed over" \
      "subscriptions) across the run. Medians (min–max) over $reps repetition(s)."
    echo
    echo "| | (a) 1 instance, 1 redis-server | (b) 2 instances, the same redis-server | (c) 2 instances, 3-master cluster |"
    echo "| --- | ---: | ---: | ---: |"
    echo "| deliveries/s | $(rate_cell s9.a.rate) | $(rate_cell s9.b.rate) | $(rate_cell s9.c.rate) |"
    echo "| ratio to (a), same repetition | 1 | $(ratio_cell s9.b.ratio) | $(ratio_cell s9.c.ratio) |"
    echo "| p50 / p99 ms, batch sent → webhook arrival (queueing behind the burst) |" \
      "$(ms "$(med s9.a.p50_us)") / $(ms "$(med s9.a.p99_us)") | $(ms "$(med s9.b.p50_us)") / $(ms "$(med s9.b.p99_us)") |" \
      "$(ms "$(med s9.c.p50_us)") / $(ms "$(med s9.c.p99_us)") |"
    echo "| **service CPU s per 10k deliveries** (all instances) | **$(spread s9.a.cpu_svc s10k)** | $(spread s9.b.cpu_svc s10k) | $(spread s9.c.cpu_svc s10k) |"
    echo "| **Redis CPU s per 10k deliveries** (all nodes) | **$(spread s9.a.cpu_red s10k)** | $(spread s9.b.cpu_red s10k) | $(spread s9.c.cpu_red s10k) |"
    echo "| … per node: 1 / 2 / 3 | | | $(s10k "$(med s9.c.node1)") / $(s10k "$(med s9.c.node2)") / $(s10k "$(med s9.c.node3)") |"
    echo "| service + Redis CPU s per 10k deliveries | $(spread s9.a.cpu_all s10k) | $(spread s9.b.cpu_all s10k) | $(spread s9.c.cpu_all s10k) |"
    echo "| deliveries by instance 1 / 2, all repetitions (instance 1's share) | $(sum_cell s9.a.inst1) |" \
      "$(sum_cell s9.b.inst1) / $(sum_cell s9.b.inst2) ($(share s9.b.inst1 s9.b.inst2)) |" \
      "$(sum_cell s9.c.inst1) / $(sum_cell s9.c.inst2) ($(share s9.c.inst1 s9.c.inst2)) |"
    echo "| peak RSS (the larger instance) | $(rss_cell s9.a) | $(rss_cell s9.b) | $(rss_cell s9.c) |"
    echo
    echo "Per repetition:"
    echo
    echo "$hdr"; echo "$sep"
    echo "| deliveries/s: (a) / (b) / (c) | $(per_rep_of num s9.a.rate s9.b.rate s9.c.rate) |"
    echo "| (b) / (a), (c) / (a) | $(per_rep_of fix2 s9.b.ratio s9.c.ratio) |"
    echo "| service CPU s per 10k: (a) / (b) / (c) | $(per_rep_of s10k s9.a.cpu_svc s9.b.cpu_svc s9.c.cpu_svc) |"
    echo "| Redis CPU s per 10k: (a) / (b) / (c) | $(per_rep_of s10k s9.a.cpu_red s9.b.cpu_red s9.c.cpu_red) |"
    echo "| (b) deliveries by instance 1 / 2 | $(per_rep_of num s9.b.inst1 s9.b.inst2) |"
    echo "| (c) deliveries by instance 1 / 2 | $(per_rep_of num s9.c.inst1 s9.c.inst2) |"
    echo
    echo "**How to read this.** The $(nproc) cores of this machine are shared by everything in the run: in (b) two" \
      "instances, the redis-server, the publisher and the sink; in (c) two instances, three Redis nodes, the publisher" \
      "and the sink; and by whatever else the machine runs (1-minute load average ${s9_load_before%% *} at the start" \
      "of the scenario, ${s9_load_after%% *} at its end, this run's own processes included). A second instance" \
      "adds no core here, so the ratios (b)/(a) and (c)/(a) ($(fix2 "$(med s9.b.ratio)") and $(fix2 "$(med s9.c.ratio)")) say little about how the service scales on a" \
      "machine with cores to spare. The figure from which capacity follows is the CPU cost of one instance, (a):" \
      "**$(s10k "$a_svc") CPU s of the service and $(s10k "$a_red") CPU s of Redis per 10,000 messages**, each" \
      "published through the instance and delivered by it to one subscription." \
      "Messages per second per core ≈ 10,000 / (CPU s per 10k): about **$(num "$(per_core "$a_svc")") messages/s" \
      "for each core given to service instances**, and about **$(num "$(per_core "$a_red")") messages/s for each" \
      "Redis core** (Redis executes commands on one thread, so one redis-server or cluster node gets at most one" \
      "core's worth of this). Both figures are derived from CPU time at the rate this run reached, not measured" \
      "as throughput; they hold only while the cost per message stays the same (it is higher at low rates, see" \
      "\"Where the time goes\"), and they leave out the publishing clients and the webhook receivers."
    echo
    echo "Measured here besides (each configuration at the rate it reached): per delivery, two instances on one" \
      "redis-server used $(fix2 "$(div "$(med s9.b.cpu_svc)" "$a_svc")") × the service CPU and $(fix2 "$(div "$(med s9.b.cpu_red)" "$a_red")") ×" \
      "the Redis CPU of one instance; two instances on the cluster used $(fix2 "$(div "$(med s9.c.cpu_svc)" "$a_svc")") ×" \
      "and $(fix2 "$(div "$(med s9.c.cpu_red)" "$a_red")") × (Redis summed over the three nodes). Every classic" \
      "\`PUBLISH\` of the mirror crosses the cluster bus to every node (docs/scaling.md), and (c)'s Redis CPU" \
      "includes that work; how much of it was not measured."
    echo
  } >"$scaleout"
fi

# --- pictures (gnuplot) ----------------------------------------------------------------------
# Drawn into $pic_dir: docs/ for a docs run that rewrites the section showing them
# (scenarios 1-8 all, or 9), else the temp dir (still drawn, so the plotting cannot
# rot unnoticed).
pic_dir=$work/pictures pic_dir9=$work/pictures
[[ $docs == 1 && $main_all == 1 ]] && pic_dir=$root/docs
[[ $docs == 1 ]] && pic_dir9=$root/docs
mkdir -p "$pic_dir" "$pic_dir9"
pictures=()
if [[ $have_gnuplot == 1 ]]; then
  colors=('#1f77b4' '#d62728' '#2ca02c' '#9467bd' '#ff7f0e')
  if want 4; then
    {
      echo "load '$root/bench/plots/common.gp'"
      echo "set output '$pic_dir/bench-e2e-latency.svg'"
      echo "load '$root/bench/plots/e2e_latency.gp'"
      printf 'plot'
      sep=" "
      i=0
      for rate in ${e2e_rates//,/ }; do
        c=${colors[$((i % ${#colors[@]}))]}
        for r in $(seq 1 "$reps"); do
          t="notitle" tr="notitle"
          [[ $r == 1 ]] && t="title 'service, $(ratek "$rate") msg/s'" tr="title 'direct to sink, $(ratek "$rate") msg/s'"
          [[ -s $work/s4.dist.$rate.$r ]] &&
            printf "%s'%s' using (\$1 < 100 ? 1/(1-\$1/100) : 1/0):(\$2/1000) with lines lw 2 lc rgb '%s' %s" "$sep" \
              "$work/s4.dist.$rate.$r" "$c" "$t" && sep=", \\"$'\n'"     "
          [[ -s $work/s4.rdist.$rate.$r ]] &&
            printf "%s'%s' using (\$1 < 100 ? 1/(1-\$1/100) : 1/0):(\$2/1000) with lines lw 1 dt 2 lc rgb '%s' %s" "$sep" \
              "$work/s4.rdist.$rate.$r" "$c" "$tr" && sep=", \\"$'\n'"     "
        done
        i=$((i + 1))
      done
      echo
    } >"$work/e2e.gp"
    gnuplot "$work/e2e.gp" 2>"$work/e2e.gp.err" && pictures+=(bench-e2e-latency.svg) ||
      warn "gnuplot (e2e latency) failed: $(head -c 300 "$work/e2e.gp.err")"
  fi
  if want 5; then
    for size in "${sizes[@]}"; do
      echo "$size $(med s5.$size.svc.rps) $(stat_of min s5.$size.svc.rps) $(stat_of max s5.$size.svc.rps)" \
        "$(med s5.$size.ref.rps) $(stat_of min s5.$size.ref.rps) $(stat_of max s5.$size.ref.rps)"
    done >"$work/payload.dat"
    gnuplot -e "datafile='$work/payload.dat'; outfile='$pic_dir/bench-payload-throughput.svg'" \
      -e "load '$root/bench/plots/common.gp'" "$root/bench/plots/payload_throughput.gp" 2>"$work/payload.gp.err" &&
      pictures+=(bench-payload-throughput.svg) ||
      warn "gnuplot (payload sizes) failed: $(head -c 300 "$work/payload.gp.err")"
  fi
  if want 7 && [[ -s $work/s7.samples.1 ]]; then
    t0=$(awk 'NR == 1 { print $1 }' "$work/s7.samples.1")
    awk -v t0="$t0" 'NF == 4 { printf "%.2f %.1f %.1f %d\n", $1 - t0, $2 / 1024, $3 / 1048576, $4 }' \
      "$work/s7.samples.1" >"$work/backlog.dat"
    phases=$(awk -v t0="$t0" '{ printf "%s%.2f:%s", (NR > 1 ? " " : ""), $1 - t0, $2 }' "$work/s7.phases.1")
    gnuplot -e "datafile='$work/backlog.dat'; outfile='$pic_dir/bench-backlog-memory.svg'; phases='$phases'" \
      -e "total=$n_backlog; totaltext='$(num "$n_backlog")'" -e "load '$root/bench/plots/common.gp'" "$root/bench/plots/backlog_memory.gp" \
      2>"$work/backlog.gp.err" && pictures+=(bench-backlog-memory.svg) ||
      warn "gnuplot (backlog memory) failed: $(head -c 300 "$work/backlog.gp.err")"
  fi
  if want 9 && [[ -n $(med s9.a.rate) ]]; then
    for c in a b c; do
      case $c in
        a) l='"(a) 1 instance" "1 redis"' ;;
        b) l='"(b) 2 instances" "1 redis"' ;;
        c) l='"(c) 2 instances" "3-node cluster"' ;;
      esac
      echo "$l $(med s9.$c.rate) $(stat_of min s9.$c.rate) $(stat_of max s9.$c.rate)" \
        "$(s10k "$(med s9.$c.cpu_svc)") $(s10k "$(med s9.$c.cpu_red)")"
    done >"$work/scaleout.dat"
    gnuplot -e "datafile='$work/scaleout.dat'; outfile='$pic_dir9/bench-scale-out.svg'; cores=$(nproc)" \
      -e "load '$root/bench/plots/common.gp'" "$root/bench/plots/scale_out.gp" 2>"$work/scaleout.gp.err" &&
      pictures+=(bench-scale-out.svg) || warn "gnuplot (scale-out) failed: $(head -c 300 "$work/scaleout.gp.err")"
  fi
fi

# --- against the aims --------------------------------------------------------------------------
aims=$work/aims.md
yes_if() { awk -v x="$1" -v op="$2" -v y="$3" 'BEGIN { if (x == "") print "–";
  else if ((op == "ge" && x >= y) || (op == "lt" && x < y)) print "yes"; else print "**no**" }'; }
{
  echo "| aim | measured (medians) | met? |"
  echo "| --- | --- | --- |"
  if want 1; then
    echo "| single publish ≥ 0.5 × the 204 responder | $(fix2 "$(med s1.ratio)") | $(yes_if "$(med s1.ratio)" ge 0.5) |"
    echo "| … with p99 < 5 ms | $(ms "$(med s1.svc.p99_us)") ms | $(yes_if "$(med s1.svc.p99_us)" lt 5000) |"
  fi
  if want 2; then
    echo "| batch publish ≥ 0.5 × pipelined XADD | $(fix2 "$(med s2.ratio)") | $(yes_if "$(med s2.ratio)" ge 0.5) |"
  fi
  if want 3; then
    echo "| delivery ≥ 0.5 × the sink's raw rate | $(fix2 "$(med s3.one.ratio)") (1 subscription), $(fix2 "$(med s3.fan.ratio)") (fan-out to $fan_subs) |" \
      "$(yes_if "$(med s3.one.ratio)" ge 0.5) / $(yes_if "$(med s3.fan.ratio)" ge 0.5) |"
  fi
  if want 4 && [[ ",$e2e_rates," == *",10000,"* ]]; then
    echo "| end-to-end p99 < 5 ms at 10k msg/s | $(ms "$(med s4.10000.e2e.p99_us)") ms ($(num "$(med s4.10000.rate)") msg/s achieved) |" \
      "$(yes_if "$(med s4.10000.e2e.p99_us)" lt 5000) |"
  fi
  if want 8; then
    echo "| tracing at 100 % sampling costs < 10 % of the throughput (on/off ≥ 0.90) | $(fix2 "$(med s8.pub.ratio)") (single publish)," \
      "$(fix2 "$(med s8.del.ratio)") (delivery) | $(yes_if "$(med s8.pub.ratio)" ge 0.9) / $(yes_if "$(med s8.del.ratio)" ge 0.9) |"
  fi
  rss_max=$(for k in "${!RSS[@]}"; do echo "${RSS[$k]}"; done | sort -n | tail -1)
  if [[ -n $rss_max ]]; then
    echo "| peak RSS < 128 MiB in every scenario$(want 7 && echo ", the $(num "$n_backlog")-message backlog included") |" \
      "$(mib "$rss_max") at most$(want 7 && echo "; $(rss_cell s7) with the backlog") | $(yes_if "$rss_max" lt 131072) |"
  fi
} >"$aims"

# --- report ------------------------------------------------------------------------------------
warn_lines=$(grep -c . "$work/service.log" || true)
[[ $warn_lines -eq 0 ]] || warn "the service logged $warn_lines lines at warn or above; last: $(tail -1 "$work/service.log" | head -c 300)"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}")
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
# Uncommitted changes outside docs/ (which this run rewrites).
dirty=$(git status --porcelain -- . ':(exclude)docs' 2>/dev/null | head -1 || true)
when=$(date -u '+%Y-%m-%d %H:%M UTC')
machine="$cpu, $(nproc) cores, $mem RAM, Linux $(uname -r), $os"
tools="$(g++ --version 2>/dev/null | head -1), $(redis-server --version | awk '{ print $1, $3 }'), $({ wrk -v 2>&1 || true; } | head -1 | awk '{ print $1, $2 }')"
[[ $have_gnuplot == 1 ]] && tools+=", $(gnuplot --version)"
summary="$reps repetition(s); the figures are medians, with (min–max) over the repetitions for rates, ratios and p99; a ratio is the median of the per-repetition ratios"

# The lines that open each generated section: when, what, on which commit and machine.
run_facts() {
  echo "Run of $when. Command: \`$command_line\`."
  echo
  echo "- Commit: \`$commit\`${dirty:+, plus uncommitted changes}."
  echo "- Machine: $machine."
  echo "- Tools: $tools."
}
out=$work/results.md
{
  run_facts
  echo "- Load average (1, 5, 15 min): $load_before before, $load_after after; highest 1-min value at a scenario's start: $load_max. Other work shares these cores, so compare the ratios (each measured in the same repetition) rather than the absolute rates."
  echo "- Wall time: $t_scenarios s of scenarios$([[ $t_build -gt 0 ]] && echo ", $t_build s of build")."
  echo "- $summary."
  echo
  cat "$table"
  echo
  cat "$details"
  if [[ ${#pictures[@]} -gt 0 && $docs == 1 ]]; then
    echo "#### Pictures (drawn by this run)"
    echo
    for p in "${pictures[@]}"; do [[ $p == bench-scale-out.svg ]] || { echo "![${p%.svg}]($p)"; echo; }; done
  fi
  echo "#### Against the aims"
  echo
  cat "$aims"
  echo
  echo "#### Warnings during the run"
  echo
  if [[ -s $work/warnings ]]; then sed 's/^/- /' "$work/warnings"; else echo "None."; fi
} >"$out"

out9=$work/results-scale-out.md
if want 9; then
  {
    run_facts
    echo "- Wall time of scenario 9: $s9_wall s (cluster start, and in each repetition three configurations with their" \
      "instance starts and warm-ups). Load average (1, 5, 15 min): $s9_load_before at its start, $s9_load_after at its end."
    echo
    cat "$scaleout"
    if [[ $docs == 1 && " ${pictures[*]} " == *" bench-scale-out.svg "* ]]; then
      echo "![bench-scale-out](bench-scale-out.svg)"
      echo
    fi
    echo "Warnings during the run: $(if [[ -s $work/warnings ]]; then echo; sed 's/^/- /' "$work/warnings"; else echo "none."; fi)"
  } >"$out9"
fi

echo
echo "messaging_service benchmark — $when, commit $commit${dirty:+ (dirty)}; $machine"
echo "load average before $load_before, after $load_after; scenarios took $t_scenarios s; $summary"
if [[ $main_any == 1 ]]; then
  cat "$table"
  echo
  cat "$details"
fi
if want 9; then
  echo "#### 9: scale-out ($s9_wall s; load average $s9_load_before at its start, $s9_load_after at its end)"
  echo
  cat "$scaleout"
fi
cat "$aims"
[[ -s $work/warnings ]] && { echo; echo "warnings:"; sed 's/^/  /' "$work/warnings"; }
[[ ${#pictures[@]} -gt 0 ]] && echo "pictures: ${pictures[*]} in $pic_dir$([[ $pic_dir9 != "$pic_dir" ]] &&
  echo " (bench-scale-out.svg in $pic_dir9)")"
if [[ -z $bin_dir ]]; then
  { [[ $main_any == 1 ]] && cat "$out"; want 9 && { echo; echo "#### 9: scale-out"; echo; cat "$out9"; }; } \
    >"$build/bench-results.md"
fi

# write_section FILE BEGIN_MARKER END_MARKER: replaces what is between the markers.
write_section() {
  local doc=$root/docs/BENCHMARKS.md
  if grep -qF "$2" "$doc" && grep -qF "$3" "$doc"; then
    awk -v b="$2" -v e="$3" -v f="$1" '
      $0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
      $0 == e { skip = 0 }
      !skip' "$doc" >"$work/doc.md" && cp "$work/doc.md" "$doc"
    return 0
  fi
  warn "docs/BENCHMARKS.md has no markers $2; not written"
  return 1
}
if [[ $docs == 1 ]]; then
  # A section is only replaced by a run that has all its scenarios.
  written=()
  if [[ $main_all == 1 ]]; then
    write_section "$out" '<!-- BEGIN RESULTS: generated by scripts/run-bench, replaced by every full run -->' \
      '<!-- END RESULTS -->' && written+=("the results section")
  elif [[ $main_any == 1 ]]; then
    echo "run-bench: not all of scenarios 1-8 ran; the results section of docs/BENCHMARKS.md is left alone" >&2
  fi
  if want 9; then
    write_section "$out9" '<!-- BEGIN SCALE-OUT: generated by scripts/run-bench (scenario 9), replaced by every docs run that includes it -->' \
      '<!-- END SCALE-OUT -->' && written+=("the scale-out section")
  fi
  [[ ${#written[@]} -gt 0 ]] && echo "run-bench: wrote ${written[*]} of docs/BENCHMARKS.md"
fi

if [[ $smoke == 1 && ${#missing[@]} -gt 0 ]]; then
  echo "run-bench: no figure for: ${missing[*]}" >&2
  exit 1
fi
exit 0
