# SPDX-License-Identifier: BSD-2-Clause
# lessons/models.gp - the picture for lessons/lesson-models.sh (one slide).
#
#   gnuplot -e "datafile='X.dat'; outfile='X.png'; quick=0" lessons/models.gp
#
# datafile: lessonlib.py render models-dat; after a comment, a header line
# naming the columns, then one line per model: model, ping-pong msgs/s at
# each client count (P columns), their p99 in ms (P), KiB per idle client
# (1), the others' first-reply p99 in seconds beside each hostile client
# (K); "-" where not measured.  P and K are read from the header.  Four
# panels of bars, one group per model.

if (!exists("datafile")) datafile = 'lessons/results/models.dat'
if (!exists("outfile")) outfile = 'lessons/results/models.png'
if (!exists("quick")) quick = 0

# The header line says how many client counts and hostile kinds there are.
header = system(sprintf("grep -v '^#' '%s' | head -n 1", datafile))
P = 0
K = 0
do for [w in header] {
	if (strstrt(w, "_clients") > 0) { P = P + 1 }
	if (strstrt(w, "first_reply_s_") == 1) { K = K + 1 }
}

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 1920,1080 enhanced font "Sans,18" linewidth 2
} else {
	set terminal png size 1920,1080 enhanced font "Sans,18" linewidth 2
}
set output outfile
set datafile missing "-"
set key autotitle columnheader
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics lt 1 lc rgb "#dddddd"
set xtics nomirror font "Sans,16"
set key top left font "Sans,14" opaque box
# Room above the tallest bar for the key.
set offsets 0, 0, graph 0.3, 0
set yrange [0:*]

# Column names as the key shows them.
clients(n) = n eq "1" ? "1 client" : n . " clients"
label(c) = strstrt(c, "_clients") > 0 ? clients(c[1:strstrt(c, "_") - 1]) : \
	   strstrt(c, "p99_ms_") == 1 ? clients(c[8:]) : \
	   strstrt(c, "first_reply_s_") == 1 ? c[15:] : c
hdr(i) = word(header, i)

set multiplot layout 2,2 title sprintf("{/:Bold Every concurrency model, one codebase, one load tool}%s", \
	quick ? "  {/*0.8 (QUICK=1 smoke run: figures meaningless)}" : "") font "Sans,24"

set title "Ping-pong: messages per second (higher is better)"
set format y "%.0s%c"
plot for [i=2:P+1] datafile using i:xtic(1) title label(hdr(i))

set title "Ping-pong: p99 round trip, ms (log scale; lower is better)"
set logscale y
set yrange [*:*]
set format y "%g"
plot for [i=P+2:2*P+1] datafile using i:xtic(1) title label(hdr(i))

set title "Memory per idle client, KiB (lower is better)"
unset logscale y
set yrange [0:*]
plot datafile using 2*P+2:xtic(1) title "RSS per idle client"

set title "One hostile client: the others' first reply p99, s (log scale)"
set logscale y
set yrange [*:*]
plot for [i=2*P+3:2*P+2+K] datafile using i:xtic(1) title label(hdr(i))

unset multiplot
