/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * wire - tcpdump captures explained, for the handshake lesson
 * (lessons/lesson-handshake.sh).
 *
 *   wire table [--title T] FILE     the annotated packets, a Markdown table
 *   wire steps FILE                 each connection's steps, one line each
 *   wire plot [--title T] FILE      a gnuplot script drawing the sequence
 *                                   diagram (gnuplot -e "outfile='x.png'")
 *   wire bind [--reuseaddr] ADDR PORT   can a listener bind there now?
 *
 * FILE is the text of `tcpdump -nn -tt -S` (live or `-r capture.pcap`),
 * "-" for standard input.  Lines that are no TCP or UDP packet are
 * skipped.  Exit status: 0 ok; 1 the capture breaks a rule it is
 * annotated with (table, steps), bind failed, or a runtime error; 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "wire.h"

/* A lesson's capture is a few dozen packets; this bounds the memory
 * (about 400 bytes per packet and note) and says so when cut. */
#define PKTS_MAX 512
/* tcpdump's lines are a few hundred bytes; longer ones are no packets
 * we read (and are skipped whole). */
#define LINE_MAX_BYTES 4096

struct capture {
	struct wire_pkt pkts[PKTS_MAX];
	struct wire_note notes[PKTS_MAX];
	size_t n;
	struct wire_summary sum;
	int skipped; /* packets beyond PKTS_MAX */
};

static int usage_error(const char *msg)
{
	fprintf(stderr, "wire: %s (try --help)\n", msg);
	return 2;
}

static void usage(void)
{
	printf("Usage: wire table [--title T] FILE\n"
	       "       wire steps FILE\n"
	       "       wire plot [--title T] FILE\n"
	       "       wire bind [--reuseaddr] ADDR PORT\n"
	       "Explain a capture made with `tcpdump -nn -tt -S` (FILE, or - "
	       "for standard input):\n"
	       "table: each packet with its handshake or teardown step and "
	       "the rule it shows;\n"
	       "steps: each connection's steps as codes (HS1 HS2 HS3 DATA "
	       "ACK FIN1 ...);\n"
	       "plot: a gnuplot script for the sequence diagram (set "
	       "outfile with -e);\n"
	       "bind: try to bind a TCP listener to ADDR PORT, without or "
	       "with SO_REUSEADDR.\n");
}

static int load(struct capture *cap, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char line[LINE_MAX_BYTES];

	if (f == NULL) {
		fprintf(stderr, "wire: cannot open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		struct wire_pkt p;

		if (strchr(line, '\n') == NULL && !feof(f)) {
			int c;

			while ((c = getc(f)) != EOF && c != '\n')
				;
			continue;
		}
		if (wire_parse(line, &p) == -1)
			continue;
		if (cap->n == PKTS_MAX) {
			cap->skipped++;
			continue;
		}
		cap->pkts[cap->n++] = p;
	}
	if (ferror(f)) {
		fprintf(stderr, "wire: cannot read %s: %s\n", path,
			strerror(errno));
		if (f != stdin)
			fclose(f);
		return -1;
	}
	if (f != stdin)
		fclose(f);
	if (cap->skipped > 0)
		fprintf(stderr,
			"wire: %s: only the first %d packets are read\n", path,
			PKTS_MAX);
	wire_annotate(cap->pkts, cap->n, cap->notes, &cap->sum);
	return 0;
}

/* The steps of a note, joined with " + ", in English or Chinese. */
static void step_text(const struct wire_note *n, bool zh, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int s = 0; s < WIRE_STEP_COUNT; s++) {
		const char *name;
		int w;

		if ((n->steps & WIRE_STEP(s)) == 0)
			continue;
		name = zh ? wire_step_name_zh(s) : wire_step_name(s);
		w = snprintf(buf + used, len - used, "%s%s",
			     used > 0 ? " + " : "", name);
		if (w < 0 || (size_t)w >= len - used)
			return;
		used += (size_t)w;
	}
}

static const char *direction(const struct wire_note *n)
{
	return n->from_client ? "client → server" : "server → client";
}

static int cmd_table(struct capture *cap, const char *title)
{
	char flags[12], en[128], zh[128];
	bool many = cap->sum.conns > 1;

	if (title != NULL)
		printf("**%s**\n\n", title);
	printf("| # | t (ms) |%s direction | flags | seq | ack | len | step "
	       "| 步骤 | rule |\n",
	       many ? " conn |" : "");
	printf("|--:|--:|%s:--|:--|--:|--:|--:|:--|:--|:--|\n",
	       many ? "--:|" : "");
	for (size_t i = 0; i < cap->n; i++) {
		const struct wire_pkt *p = &cap->pkts[i];
		const struct wire_note *n = &cap->notes[i];
		char seq[16] = "-", ack[16] = "-", conn[16] = "";

		if (p->proto == WIRE_TCP)
			snprintf(seq, sizeof(seq), "%u", n->seq);
		if (p->has_ack)
			snprintf(ack, sizeof(ack), "%u", p->ack);
		if (many && n->conn >= 0)
			snprintf(conn, sizeof(conn), " %d |", n->conn + 1);
		else if (many) /* beyond WIRE_CONN_MAX connections */
			snprintf(conn, sizeof(conn), " - |");
		step_text(n, false, en, sizeof(en));
		step_text(n, true, zh, sizeof(zh));
		printf("| %zu | %.3f |%s %s | %s | %s | %s | %u | %s%s | %s%s "
		       "| "
		       "%s%s |\n",
		       i + 1, (double)n->since_us / 1000.0, conn, direction(n),
		       wire_flags(p, flags, sizeof(flags)), seq, ack, p->len,
		       en, n->half_close ? " (half-close)" : "", zh,
		       n->half_close ? "（半关闭）" : "",
		       n->violation ? "**rule broken:** " : "", n->rule);
	}
	return cap->sum.violations > 0 ? 1 : 0;
}

/* Codes of a packet's steps joined with '+' ("FIN2+DATA"), a packet
 * per word: what a script matches. */
static int cmd_steps(struct capture *cap)
{
	for (int c = 0; c < cap->sum.conns; c++) {
		printf("conn %d:", c + 1);
		for (size_t i = 0; i < cap->n; i++) {
			const struct wire_note *n = &cap->notes[i];
			const char *sep = " ";

			if (n->conn != c)
				continue;
			for (int s = 0; s < WIRE_STEP_COUNT; s++) {
				if ((n->steps & WIRE_STEP(s)) == 0)
					continue;
				printf("%s%s", sep, wire_step_code(s));
				sep = "+";
			}
			if (n->half_close)
				printf("(half-close)");
		}
		printf("\n");
	}
	printf("summary: conns=%d violations=%d retransmissions=%d resets=%d "
	       "half_close=%d\n",
	       cap->sum.conns, cap->sum.violations, cap->sum.retransmissions,
	       cap->sum.resets, cap->sum.half_close);
	return cap->sum.violations > 0 ? 1 : 0;
}

/* Prints s as a gnuplot double-quoted string's contents. */
static void gp_string(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
}

/* An arrow's colour: the handshake blue, the teardown red, trouble
 * orange, data and plain ACKs dark grey, datagrams green. */
static const char *colour(const struct wire_note *n)
{
	unsigned hs =
		WIRE_STEP(WIRE_HS1) | WIRE_STEP(WIRE_HS2) | WIRE_STEP(WIRE_HS3);
	unsigned fin = WIRE_STEP(WIRE_FIN1) | WIRE_STEP(WIRE_FIN2) |
		       WIRE_STEP(WIRE_FIN3) | WIRE_STEP(WIRE_FIN4);

	if ((n->steps & (WIRE_STEP(WIRE_RESET) | WIRE_STEP(WIRE_RETRANS))) != 0)
		return "#d95f02";
	if ((n->steps & hs) != 0)
		return "#1f5fbf";
	if ((n->steps & fin) != 0)
		return "#c0392b";
	if ((n->steps & WIRE_STEP(WIRE_DGRAM)) != 0)
		return "#1b9e77";
	return "#404040";
}

/* Pixels: a row per packet, a header for the title and the two hosts. */
#define PLOT_ROW_PX   56
#define PLOT_HEAD_PX  170
#define PLOT_WIDTH_PX 1600
/* x positions, in percent of the width: the two lines, and the text
 * columns beside them. */
#define PLOT_X_CLIENT 22
#define PLOT_X_SERVER 68

/* The rule a packet shows, in a few words for the picture (the table
 * has the sentence). */
static const char *hint(const struct wire_note *n)
{
	if ((n->steps & WIRE_STEP(WIRE_HS1)) != 0)
		return "seq = ISN";
	if ((n->steps & WIRE_STEP(WIRE_HS2)) != 0)
		return "ack = client ISN+1";
	if ((n->steps & WIRE_STEP(WIRE_HS3)) != 0)
		return "ack = server ISN+1";
	if ((n->steps & (WIRE_STEP(WIRE_FIN2) | WIRE_STEP(WIRE_FIN4))) != 0)
		return "ack = FIN's seq+1";
	if ((n->steps & (WIRE_STEP(WIRE_FIN1) | WIRE_STEP(WIRE_FIN3))) != 0)
		return "a FIN takes one seq";
	if ((n->steps & WIRE_STEP(WIRE_DATA)) != 0)
		return "next seq = seq+len";
	return "";
}

static void plot_packet(const struct capture *cap, size_t i)
{
	const struct wire_pkt *p = &cap->pkts[i];
	const struct wire_note *n = &cap->notes[i];
	double y0 = -(double)i - 0.45, y1 = y0 - 0.4;
	int from = n->from_client ? PLOT_X_CLIENT : PLOT_X_SERVER;
	int to = n->from_client ? PLOT_X_SERVER : PLOT_X_CLIENT;
	char flags[12], en[128];

	step_text(n, false, en, sizeof(en));
	printf("set arrow from %d,%.2f to %d,%.2f head filled size "
	       "screen 0.012,20 lw 2.5 lc rgb \"%s\"\n",
	       from, y0, to, y1, colour(n));
	printf("set label \"[%s]", wire_flags(p, flags, sizeof(flags)));
	if (p->proto == WIRE_TCP)
		printf("  seq %u", n->seq);
	if (p->has_ack)
		printf("  ack %u", p->ack);
	printf("  len %u\" at %d,%.2f center font \",13\" noenhanced\n", p->len,
	       (PLOT_X_CLIENT + PLOT_X_SERVER) / 2, (y0 + y1) / 2 + 0.3);
	printf("set label \"%.3f ms\" at %d,%.2f right font \",13\" "
	       "noenhanced\n",
	       (double)n->since_us / 1000.0, PLOT_X_CLIENT - 2, y0);
	printf("set label \"");
	gp_string(en);
	printf("%s\" at %d,%.2f left font \",13\" tc rgb \"%s\" "
	       "noenhanced\n",
	       n->half_close ? " (half-close)" : "", PLOT_X_SERVER + 2,
	       (y0 + y1) / 2 + 0.12, colour(n));
	if (*hint(n) != '\0')
		printf("set label \"%s\" at %d,%.2f left font \",11\" tc rgb "
		       "\"#666666\" noenhanced\n",
		       hint(n), PLOT_X_SERVER + 2, (y0 + y1) / 2 - 0.2);
}

static int cmd_plot(const struct capture *cap, const char *title)
{
	size_t rows = cap->n > 0 ? cap->n : 1;
	const struct wire_pkt *p0 = &cap->pkts[0];
	bool client_is_src = cap->n > 0 && cap->notes[0].from_client;

	printf("# The sequence diagram of a tcpdump capture (lessons/wire/wire "
	       "plot).\n"
	       "# gnuplot -e \"outfile='handshake.png'\" THIS_FILE\n"
	       "if (!exists(\"outfile\")) outfile = 'handshake.png'\n"
	       "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
	       "\tset terminal pngcairo size %d,%zu font \"Sans,14\"\n"
	       "} else {\n"
	       "\tset terminal png size %d,%zu font \"Sans,14\"\n"
	       "}\n"
	       "set output outfile\n"
	       "unset border; unset tics; unset key\n"
	       "set lmargin 0; set rmargin 0; set bmargin 1\n"
	       "set xrange [0:100]\n"
	       "set yrange [%.2f:1.6]\n",
	       PLOT_WIDTH_PX, PLOT_HEAD_PX + PLOT_ROW_PX * rows, PLOT_WIDTH_PX,
	       PLOT_HEAD_PX + PLOT_ROW_PX * rows, -(double)rows - 0.2);
	printf("set title \"");
	gp_string(title != NULL ? title : "a TCP session on the wire");
	printf("\" font \",18\" noenhanced\n");
	if (cap->n > 0) {
		const char *caddr = client_is_src ? p0->src : p0->dst;
		const char *saddr = client_is_src ? p0->dst : p0->src;
		unsigned cport = client_is_src ? p0->sport : p0->dport;
		unsigned sport = client_is_src ? p0->dport : p0->sport;

		printf("set label \"client\\n%s.%u\" at %d,0.9 center "
		       "font \",15\" noenhanced\n",
		       caddr, cport, PLOT_X_CLIENT);
		printf("set label \"server\\n%s.%u\" at %d,0.9 center "
		       "font \",15\" noenhanced\n",
		       saddr, sport, PLOT_X_SERVER);
	}
	printf("set label \"time since the first packet\" at %d,0.1 right "
	       "font \",12\" noenhanced\n",
	       PLOT_X_CLIENT - 2);
	printf("set label \"step\" at %d,0.1 left font \",12\"\n",
	       PLOT_X_SERVER + 2);
	printf("set arrow from %d,0.2 to %d,%.2f nohead lw 3 lc rgb "
	       "\"#999999\"\n",
	       PLOT_X_CLIENT, PLOT_X_CLIENT, -(double)rows);
	printf("set arrow from %d,0.2 to %d,%.2f nohead lw 3 lc rgb "
	       "\"#999999\"\n",
	       PLOT_X_SERVER, PLOT_X_SERVER, -(double)rows);
	for (size_t i = 0; i < cap->n; i++)
		plot_packet(cap, i);
	printf("plot NaN notitle\n");
	return 0;
}

static int cmd_bind(int argc, char *argv[])
{
	bool reuse = argc > 0 && strcmp(argv[0], "--reuseaddr") == 0;
	char err[NET_ERR_MAX], name[NET_ADDR_MAX];
	struct net_addr a;
	char *end;
	long port;
	int fd, on = 1;

	if (reuse) {
		argc--;
		argv++;
	}
	if (argc != 2)
		return usage_error("bind: expected [--reuseaddr] ADDR PORT");
	port = strtol(argv[1], &end, 10);
	if (argv[1][0] < '0' || argv[1][0] > '9' || *end != '\0' ||
	    port > 65535)
		return usage_error("bind: invalid port (expected 0-65535)");
	if (net_parse_addr(&a, argv[0], (unsigned)port, err, sizeof(err)) == -1)
		return usage_error(err);
	net_format((struct sockaddr *)&a.ss, name, sizeof(name));
	fd = socket(a.ss.ss_family, SOCK_STREAM, 0);
	if (fd == -1 ||
	    (reuse &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1) ||
	    bind(fd, (struct sockaddr *)&a.ss, a.len) == -1 ||
	    listen(fd, 1) == -1) {
		printf("bind %s %s SO_REUSEADDR: %s\n", name,
		       reuse ? "with" : "without", strerror(errno));
		if (fd != -1)
			close(fd);
		return 1;
	}
	printf("bind %s %s SO_REUSEADDR: ok\n", name,
	       reuse ? "with" : "without");
	close(fd);
	return 0;
}

int main(int argc, char *argv[])
{
	static struct capture cap; /* some 400 KiB: not on the stack */
	const char *cmd, *title = NULL;
	int i = 2;

	if (argc < 2)
		return usage_error("expected a command: table, steps, plot or "
				   "bind");
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		usage();
		return 0;
	}
	if (strcmp(cmd, "bind") == 0)
		return cmd_bind(argc - 2, argv + 2);
	if (strcmp(cmd, "table") != 0 && strcmp(cmd, "steps") != 0 &&
	    strcmp(cmd, "plot") != 0)
		return usage_error("unknown command");
	if (i + 1 < argc && strcmp(argv[i], "--title") == 0) {
		title = argv[i + 1];
		i += 2;
	}
	if (argc - i != 1)
		return usage_error("expected one capture file");
	if (argv[i][0] == '-' && argv[i][1] != '\0')
		return usage_error("unknown option, or --title without its "
				   "value");
	if (load(&cap, argv[i]) == -1)
		return 1;
	if (strcmp(cmd, "table") == 0)
		return cmd_table(&cap, title);
	if (strcmp(cmd, "steps") == 0)
		return cmd_steps(&cap);
	return cmd_plot(&cap, title);
}
