# The end-to-end latency distribution of scenario 4, one line per rate and repetition.
# run-bench appends the plot command (data: "percentile latency_us" lines from
# webhook_sink's /dist); x is 1/(1 - percentile), the HdrHistogram convention.
set title 'End-to-end latency, open loop: intended send time → webhook arrival'
set logscale x 10
set logscale y 10
set xlabel 'percentile'
set ylabel 'latency (ms)'
set xtics ('0' 1, '50' 2, '90' 10, '99' 100, '99.9' 1000, '99.99' 10000, '99.999' 100000)
set format y '%g'
set xrange [1:*]
set key bottom right
