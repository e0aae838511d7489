# Scenario 5: single-publish throughput against payload size, next to the HTTP 204
# responder with the same bodies. Variables: datafile (size, service median, min,
# max, responder median, min, max per line), outfile.
set output outfile
set title 'Single publish against payload size (50 connections; compression on from 1 KiB)'
set logscale x 2
set logscale y 10
set xlabel 'request body'
set ylabel 'requests per second'
set format y '%g'
set xtics ('256 B' 256, '1 KiB' 1024, '4 KiB' 4096, '16 KiB' 16384, '64 KiB' 65536)
set xrange [180:95000]
set key bottom left
plot datafile using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb '#1f77b4' title 'service (median, min–max)', \
     datafile using 1:5:6:7 with yerrorlines lw 2 pt 5 dt 2 lc rgb '#7f7f7f' title 'HTTP 204 responder, same run', \
     datafile using 1:2:(sprintf('×%.2f', $2 / $5)) with labels offset 0,-1.2 textcolor rgb '#1f77b4' notitle
