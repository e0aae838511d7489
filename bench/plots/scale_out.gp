# Scenario 9: delivery rate and CPU per 10k deliveries for 1 instance, 2 instances on
# one redis-server and 2 on a 3-master cluster. Variables: datafile (per line: "label",
# "second label line", rate median, min, max, service CPU s/10k, Redis CPU s/10k),
# outfile, cores.
set terminal svg size 1000,500 dynamic enhanced font 'Helvetica,13' background rgb 'white'
set output outfile
set multiplot layout 1,2 title sprintf('Scale-out: delivery over 6 channels, one subscription each (%d cores shared by everything)', cores)
set style data histograms
set style fill solid 0.75 border -1
set boxwidth 0.7 relative
set yrange [0:*]
set xrange [-0.6:2.6]
set offsets 0, 0, graph 0.3, 0
set bmargin 4
set grid noxtics
set xtics scale 0 font ',11'
set title 'deliveries per second (median, min–max)'
set style histogram errorbars gap 1 lw 1
unset key
plot datafile using 3:4:5:xtic(strcol(1)."\n".strcol(2)) lc rgb '#1f77b4', \
     '' using ($0):5:(sprintf('%.0f', $3)) with labels offset 0,0.9 textcolor rgb '#1f77b4'
set title 'CPU seconds per 10k deliveries (medians)'
set style histogram rowstacked
set key top left Left reverse samplen 1.5
plot datafile using 6:xtic(strcol(1)."\n".strcol(2)) lc rgb '#1f77b4' title 'service, all instances', \
     '' using 7 lc rgb '#d62728' title 'Redis, all nodes', \
     '' using ($0):($6 + $7):(sprintf('%.2f', $6 + $7)) with labels offset 0,0.8 notitle
unset multiplot
