# plots.gp - ci/bench's figures from bench/report.awk's data files.
# usage: gnuplot -e "datadir='DIR'; outdir='DIR'" bench/plots.gp
set terminal pngcairo size 1600,700 font "DejaVu Sans,11" noenhanced
set datafile missing '-'
set grid ytics
set key top left

set output outdir.'/cost-per-packet.png'
set title "CPU time of the server core per relayed packet (median, bars: min-max over rounds; fresh server)"
set ylabel "ns of CPU 1 busy time per packet"
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -35 nomirror
set yrange [0:*]
plot datadir.'/cost.dat' using 2:3:4:xtic(1) title 'echo (recvmmsg/sendmmsg)' lc rgb '#7f7f7f', \
     '' using 5:6:7 title 'echo, GSO/GRO' lc rgb '#bcbcbc', \
     '' using 8:9:10 title 'coturn 4.6.1' lc rgb '#d62728', \
     '' using 11:12:13 title 'ternd' lc rgb '#1f77b4'

set output outdir.'/latency.png'
set terminal pngcairo size 1100,650 font "DejaVu Sans,11" noenhanced
set title "Round-trip latency through the server (ChannelData 100 B, 10 allocations; echo: one hop)"
unset style
set xtics norotate
set xlabel "offered load, thousand server packets/s"
set ylabel "latency, us (log scale)"
set logscale y
set yrange [*:*]
set key top left
plot datadir.'/lat-echo.dat' using 1:2 with linespoints title 'echo p50' lw 2 pt 7 lc rgb '#7f7f7f', \
     '' using 1:3 with linespoints title 'echo p99' lw 2 pt 6 dt 2 lc rgb '#7f7f7f', \
     datadir.'/lat-coturn.dat' using 1:2 with linespoints title 'coturn p50' lw 2 pt 7 lc rgb '#d62728', \
     '' using 1:3 with linespoints title 'coturn p99' lw 2 pt 6 dt 2 lc rgb '#d62728', \
     datadir.'/lat-ternd.dat' using 1:2 with linespoints title 'ternd p50' lw 2 pt 7 lc rgb '#1f77b4', \
     '' using 1:3 with linespoints title 'ternd p99' lw 2 pt 6 dt 2 lc rgb '#1f77b4'
