# Scenario 7: the service's RSS and redis's used_memory over time while a backlog
# for a paused subscription grows, then while it is resumed. Variables: datafile
# ("seconds rss_MiB redis_MiB stream_length" lines), outfile, total (messages), totaltext,
# phases ("seconds:name ..." — vertical markers).
set output outfile
set title sprintf('Memory while %s messages pile up for a paused subscription', totaltext)
set xlabel 'seconds'
set ylabel 'MiB'
set y2label 'thousand messages in the stream'
set ytics nomirror
set y2tics
set format y2 '%g'
set yrange [0:*]
set y2range [0:total * 1.15 / 1000]
do for [i = 1:words(phases)] {
  p = word(phases, i)
  c = strstrt(p, ':')
  t = real(p[1:c - 1])
  set arrow from t, graph 0 to t, graph 1 nohead dt 3 lc rgb '#888888'
  set label p[c + 1:] at t, graph (0.62 - 0.07 * (i - 1)) right offset -0.4, 0 font ',11' textcolor rgb '#555555'
}
plot datafile using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'service RSS', \
     datafile using 1:3 with lines lw 2 lc rgb '#d62728' title 'redis used\_memory', \
     datafile using 1:($4 / 1000) axes x1y2 with lines lw 1 dt 2 lc rgb '#2ca02c' title 'stream length (right axis)'
