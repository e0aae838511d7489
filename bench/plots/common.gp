# Shared look of the benchmark pictures (scripts/run-bench draws them into docs/).
set terminal svg size 860,500 dynamic enhanced font 'Helvetica,13' background rgb 'white'
set encoding utf8
set grid lc rgb '#dddddd' lw 1
set border lc rgb '#444444'
set key top left opaque box lc rgb '#cccccc'
