# SPDX-License-Identifier: BSD-2-Clause
# lessons/compare.gp - the picture for lessons/compare.sh (read on a projector).
#
#   gnuplot -e "datafile='X.dat'; outfile='X.png'; cap=30; msgs=10; think=100" lessons/compare.gp
#
# datafile columns: N server total msgs_per_s wait_p50 wait_max
# connect_max capped; times in seconds, -1 = not reached within the
# budget of cap seconds.  Block 0 (index 0) is stserver, block 1 mtserver.  Two panels, both log-log: each client's wait for
# its first reply (p50 and max), and the total time for all clients.
# Values beyond the budget are drawn at the budget line as open
# triangles pointing up ("more than this").

if (!exists("datafile")) datafile = 'lessons/results/compare.dat'
if (!exists("outfile")) outfile = 'lessons/results/compare.png'
if (!exists("cap")) cap = 30
if (!exists("msgs")) msgs = 10
if (!exists("think")) think = 100

# pngcairo when this gnuplot has it, else libgd's png.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 1920,1000 enhanced font "Sans,22" linewidth 3
} else {
	set terminal png size 1920,1000 enhanced font "Sans,22" linewidth 3
}
set output outfile

# Measured values only (>= 0), or the budget where the value was beyond
# it (-1).
val(c) = column(c) >= 0 ? column(c) : NaN
over(c) = column(c) < 0 ? cap : NaN
ST_I = 0
MT_I = 1

set logscale xy
set xlabel "clients connecting at once (N)"
set xtics (1, 2, 5, 10, 20, 50, 100, 200)
set xrange [0.8:250]
set grid xtics ytics mytics lt 1 lc rgb "#dddddd"
set key box opaque font "Sans,17" spacing 1.1
set format y "%g"
set yrange [*:cap * 6]

ST = "#d62728"   # stserver: red
MT = "#1f77b4"   # mtserver: blue

set multiplot layout 1,2 title sprintf("{/:Bold iterative stserver vs thread-per-client mtserver}\n{/*0.8 each client: %d messages %d ms apart, waits for every echo; budget %d s per run}", msgs, think, cap) font "Sans,26"

set title "How long until a client's first reply?" font "Sans,24"
# Below mtserver's milliseconds: empty (room made by the range).
set key inside bottom right
set yrange [1e-4:cap * 6]
set ylabel "seconds (log scale)"
set arrow 1 from graph 0, first cap to graph 1, first cap nohead dt 3 lc rgb "#777777" lw 1
set label 1 sprintf("budget %d s", cap) at graph 0.98, first cap * 1.6 right font "Sans,16" tc rgb "#555555"
plot datafile index ST_I using 1:(val(6)) with linespoints lc rgb ST dt 2 pt 7 ps 1.5 title "stserver, slowest client", \
     datafile index ST_I using 1:(val(5)) with linespoints lc rgb ST pt 5 ps 1.5 title "stserver, median client", \
     datafile index MT_I using 1:(val(6)) with linespoints lc rgb MT dt 2 pt 7 ps 1.5 title "mtserver, slowest client", \
     datafile index MT_I using 1:(val(5)) with linespoints lc rgb MT pt 5 ps 1.5 title "mtserver, median client", \
     datafile index ST_I using 1:(over(6)) with points lc rgb ST pt 8 ps 3 title sprintf("stserver: more than %d s", cap), \
     datafile index ST_I using 1:(over(5)) with points lc rgb ST pt 8 ps 3 notitle

set title "How long until all clients are done?" font "Sans,24"
# Below mtserver's line: empty.
set key inside bottom right
set yrange [*:cap * 6]
plot datafile index ST_I using 1:(val(3)) with linespoints lc rgb ST pt 5 ps 1.5 title "stserver", \
     datafile index MT_I using 1:(val(3)) with linespoints lc rgb MT pt 5 ps 1.5 title "mtserver", \
     datafile index ST_I using 1:(over(3)) with points lc rgb ST pt 8 ps 3 title sprintf("stserver: more than %d s", cap)

unset multiplot
