/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_syslog_peers.c - real syslog senders against the real mtserver:
 * util-linux logger(1) with and without RFC 6587 octet counting, over
 * TCP and UDP, and rsyslogd forwarding with omfwd's octet-counted
 * framing; and the framings (--framing, docs/framing.md) over a socket.
 *
 * rsyslogd runs as the test's user with a configuration of its own in
 * the test's directory (rsyslogd -n -f CONF -i PIDFILE): imtcp on a
 * loopback port it picks (listenPortFileName), fed by the test, and one
 * omfwd action to mtserver; no imuxsock or imklog, so it neither reads
 * nor writes the machine's logs.  It is stopped by its pid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "logline.h"
#include "servers.h"

/* Messages rsyslogd forwards in the long run (issue 24). */
#define RSYSLOG_MSGS 100000
/* The whole run's bound: rsyslogd forwards some 100,000 a second here;
 * a loaded 2-core machine may take ten times longer. */
#define RSYSLOG_RUN_MS 120000
/* How long a peer may take to start, or logger to send and exit. */
#define PEER_MS 20000

/* ---- peers ---- */

/*
 * The path of a peer program in buf, or NULL (the test is then skipped,
 * naming the Debian package).  Daemons live in /usr/sbin, which a
 * user's PATH may lack: looked for there too.
 */
static const char *peer(char *buf, size_t size, const char *prog,
			const char *package)
{
	if (h_which(buf, size, prog) != NULL)
		return buf;
	snprintf(buf, size, "/usr/sbin/%s", prog);
	if (access(buf, X_OK) == 0)
		return buf;
	print_message("skipped: %s not found; install the Debian package "
		      "%s (make test does, as root)\n",
		      prog, package);
	return NULL;
}

/* Forks argv[0] (a path) with stdin from the pipe *in_fd gets (or
 * /dev/null when in_fd is NULL), stdout and stderr to out_path. */
static pid_t start_peer(const char *const argv[], const char *out_path,
			int *in_fd)
{
	int in[2] = {-1, -1};
	pid_t pid;

	if (in_fd != NULL)
		assert_int_equal(pipe(in), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int null = open("/dev/null", O_RDONLY);

		if (out < 0 || null < 0)
			_exit(126);
		dup2(in_fd != NULL ? in[0] : null, 0);
		dup2(out, 1);
		dup2(out, 2);
		if (in_fd != NULL) {
			close(in[0]);
			close(in[1]);
		}
		h_die_with_parent();
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (in_fd != NULL) {
		close(in[0]);
		*in_fd = in[1];
	}
	return pid;
}

/* Waits for pid to exit: its status (128 + signal), or -1 when it does
 * not within timeout_ms (then it is killed). */
static int wait_peer(pid_t pid, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int status;

	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (h_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		h_sleep_ms(10);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs logger with its options, "-n 127.0.0.1 -P PORT", and the given
 * standard input; fails the test unless it exits 0. */
static void logger_run(const char *logger, int port, const char *input, ...)
{
	const char *argv[24];
	const char *a;
	char portstr[16];
	va_list ap;
	int n = 0, in;
	pid_t pid;

	argv[n++] = logger;
	va_start(ap, input);
	while ((a = va_arg(ap, const char *)) != NULL && n < 18)
		argv[n++] = a;
	va_end(ap);
	snprintf(portstr, sizeof(portstr), "%d", port);
	argv[n++] = "-n";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-P";
	argv[n++] = portstr;
	argv[n] = NULL;
	pid = start_peer(argv, h_path("logger.out"), &in);
	assert_int_equal(h_write_all(in, input, strlen(input)), 0);
	close(in);
	if (wait_peer(pid, PEER_MS) != 0)
		fail_msg("logger failed; see %s", h_path("logger.out"));
}

/* ---- reading the log ---- */

/* The message texts of a log, in order, NUL-separated ('\0' does not
 * occur in them here), and the frame-error lines as "!REST". */
struct texts {
	char buf[1 << 16];
	size_t len;
	int msgs, faults;
};

static void take_text(const struct logline *l, size_t line_len, void *arg)
{
	struct texts *t = arg;
	size_t room = sizeof(t->buf) - t->len;

	(void)line_len;
	if (logline_is_message(l) && l->text != NULL &&
	    l->text_len + 1 < room) {
		memcpy(t->buf + t->len, l->text, l->text_len);
		t->len += l->text_len;
		t->buf[t->len++] = '\0';
		t->msgs++;
	} else if (l->name_len == 11 &&
		   memcmp(l->name, "frame-error", 11) == 0 &&
		   l->rest_len + 2 < room) {
		t->buf[t->len++] = '!';
		memcpy(t->buf + t->len, l->rest, l->rest_len);
		t->len += l->rest_len;
		t->buf[t->len++] = '\0';
		t->faults++;
	}
}

static void read_texts(const struct srv *s, struct texts *t)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(h_each_logline(s->log, take_text, t), 0);
}

/* The i-th entry of t (0-based), or fails the test. */
static const char *text_at(const struct texts *t, int i)
{
	const char *p = t->buf;

	for (; i > 0; i--) {
		p += strlen(p) + 1;
		if (p >= t->buf + t->len)
			fail_msg("the log has fewer messages than expected");
	}
	return p;
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Sends data on a fresh connection and closes it; waits for its
 * disconnect line. */
static void send_and_close(const struct srv *s, const char *data, size_t len)
{
	int fd = srv_connect(s);

	assert_int_equal(h_send_all(fd, data, len), 0);
	close(fd);
	srv_wait_log(s, " disconnect reason=client-closed", 1);
}

#define SEND(s, lit) send_and_close(s, lit, sizeof(lit) - 1)

/* ---- logger(1) ---- */

static void test_logger_octet_count_rfc5424_tcp(void **state)
{
	char path[H_PATH_MAX];
	const char *logger = peer(path, sizeof(path), "logger", "bsdutils");
	struct srv s = {0};
	struct texts t;

	(void)state;
	if (logger == NULL) {
		skip();
		return;
	}
	srv_start(&s, "mtserver", (const char *)NULL);
	/* Issue 24's report: these two came out as one line, the second
	 * count inside the text. */
	logger_run(logger, s.p.port, "line one\nline two\n", "--tcp",
		   "--rfc5424", "--octet-count", "-t", "mtest",
		   (const char *)NULL);
	srv_wait_log(&s, " disconnect reason=client-closed messages=2 ", 1);
	srv_stop(&s);
	read_texts(&s, &t);
	assert_int_equal(t.msgs, 2);
	assert_int_equal(t.faults, 0);
	for (int i = 0; i < 2; i++) {
		const char *m = text_at(&t, i);

		if (!starts(m, "<13>1 ") || strstr(m, " mtest ") == NULL ||
		    !ends(m, i == 0 ? "] line one" : "] line two"))
			fail_msg("message %d: '%s'", i, m);
	}
}

static void test_logger_octet_counted_newline_stays_in_message(void **state)
{
	char path[H_PATH_MAX];
	const char *logger = peer(path, sizeof(path), "logger", "bsdutils");
	struct srv s = {0};
	struct texts t;

	(void)state;
	if (logger == NULL) {
		skip();
		return;
	}
	srv_start(&s, "mtserver", (const char *)NULL);
	/* One message with an LF inside: one log line, the LF escaped. */
	logger_run(logger, s.p.port, "", "--tcp", "--rfc5424", "--octet-count",
		   "-t", "mtest", "first\nsecond", (const char *)NULL);
	srv_wait_log(&s, " disconnect reason=client-closed messages=1 ", 1);
	srv_stop(&s);
	read_texts(&s, &t);
	assert_int_equal(t.msgs, 1);
	if (!starts(text_at(&t, 0), "<13>1 ") ||
	    !ends(text_at(&t, 0), "] first\nsecond"))
		fail_msg("message: '%s'", text_at(&t, 0));
	assert_int_equal(h_count_in_file(s.log, "] first\\nsecond\n"), 1);
}

/* logger without --octet-count: RFC 3164, LF-framed over TCP. */
static void test_logger_rfc3164_tcp(void **state)
{
	char path[H_PATH_MAX];
	const char *logger = peer(path, sizeof(path), "logger", "bsdutils");
	struct srv s = {0};
	struct texts t;

	(void)state;
	if (logger == NULL) {
		skip();
		return;
	}
	srv_start(&s, "mtserver", (const char *)NULL);
	logger_run(logger, s.p.port, "line one\n2 apples\n", "--tcp",
		   "--rfc3164", "-t", "mtest", (const char *)NULL);
	srv_wait_log(&s, " disconnect reason=client-closed messages=2 ", 1);
	srv_stop(&s);
	read_texts(&s, &t);
	assert_int_equal(t.msgs, 2);
	for (int i = 0; i < 2; i++) {
		const char *m = text_at(&t, i);

		if (!starts(m, "<13>") ||
		    !ends(m, i == 0 ? " mtest: line one" : " mtest: 2 apples"))
			fail_msg("message %d: '%s'", i, m);
	}
}

/* Over UDP each message is a datagram, RFC 3164 or 5424. */
static void test_logger_udp(void **state)
{
	char path[H_PATH_MAX];
	const char *logger = peer(path, sizeof(path), "logger", "bsdutils");
	struct srv s = {0};
	struct texts t;

	(void)state;
	if (logger == NULL) {
		skip();
		return;
	}
	srv_start(&s, "mtserver", (const char *)NULL);
	logger_run(logger, s.p.port, "udp one\n", "--udp", "--rfc3164", "-t",
		   "mtest", (const char *)NULL);
	srv_wait_log(&s, " mtest: udp one\n", 1);
	logger_run(logger, s.p.port, "udp two\n", "--udp", "--rfc5424", "-t",
		   "mtest", (const char *)NULL);
	srv_wait_log(&s, "] udp two\n", 1);
	srv_stop(&s);
	read_texts(&s, &t);
	assert_int_equal(t.msgs, 2);
	assert_true(starts(text_at(&t, 0), "<13>"));
	assert_true(ends(text_at(&t, 0), " mtest: udp one"));
	assert_true(starts(text_at(&t, 1), "<13>1 "));
	assert_true(ends(text_at(&t, 1), "] udp two"));
	assert_int_equal(h_count_in_file(s.log, " udp 127.0.0.1:"), 2);
}

/* ---- the framings over a socket ---- */

/* Auto: a connection opening with "DIGITS SP <PRI>" counts octets, any
 * other stays LF-framed, whatever its later lines look like. */
static void test_auto_framing_per_connection(void **state)
{
	struct srv s = {0};
	struct texts t;

	(void)state;
	srv_start(&s, "mtserver", (const char *)NULL);
	SEND(&s, "5 <1>ab5 <2>cd");
	srv_wait_log(&s, " disconnect ", 1);
	SEND(&s, "5 apples\n5 <1>ab5 <2>cd\n");
	srv_wait_log(&s, " disconnect ", 2);
	srv_stop(&s);
	read_texts(&s, &t);
	assert_int_equal(t.msgs, 4);
	assert_string_equal(text_at(&t, 0), "<1>ab");
	assert_string_equal(text_at(&t, 1), "<2>cd");
	assert_string_equal(text_at(&t, 2), "5 apples");
	assert_string_equal(text_at(&t, 3), "5 <1>ab5 <2>cd");
}

static void test_forced_framings(void **state)
{
	struct srv lf = {0}, octet = {0};
	struct texts t;

	(void)state;
	srv_start(&lf, "mtserver", "--framing", "lf", (const char *)NULL);
	SEND(&lf, "5 <1>ab5 <2>cd");
	srv_stop(&lf);
	read_texts(&lf, &t);
	assert_int_equal(t.msgs, 1);
	assert_string_equal(text_at(&t, 0), "5 <1>ab5 <2>cd");

	/* Octet counting per frame, as rsyslog's imtcp: an LF client's
	 * line that starts with a digit is misread - what auto avoids. */
	srv_start(&octet, "mtserver", "--framing", "octet", (const char *)NULL);
	SEND(&octet, "hello\n5 apples\n");
	srv_stop(&octet);
	read_texts(&octet, &t);
	assert_int_equal(t.msgs, 3);
	assert_string_equal(text_at(&t, 0), "hello");
	assert_string_equal(text_at(&t, 1), "apple");
	assert_string_equal(text_at(&t, 2), "s");
}

/* A count that is none gets a frame-error line, then its frame as a
 * line; a stream cut inside a message says so, then logs what came. */
static void test_bad_counts_logged_and_recovered(void **state)
{
	struct srv s = {0};
	struct texts t;

	(void)state;
	srv_start(&s, "mtserver", "--framing", "octet", "--max-line", "8",
		  (const char *)NULL);
	SEND(&s, "0 zero\n12ab\n5 hello2000000 big\n12 <13>abcdefgh3 end"
		 "10 cut");
	srv_stop(&s);
	read_texts(&s, &t);
	assert_int_equal(t.msgs, 7);
	assert_int_equal(t.faults, 4);
	assert_string_equal(text_at(&t, 0), "!reason=count-zero count=0");
	assert_string_equal(text_at(&t, 1), "0 zero");
	assert_string_equal(text_at(&t, 2),
			    "!reason=count-not-a-number count=12a");
	assert_string_equal(text_at(&t, 3), "12ab");
	assert_string_equal(text_at(&t, 4), "hello");
	assert_string_equal(text_at(&t, 5),
			    "!reason=count-too-large count=2000000");
	assert_string_equal(text_at(&t, 6), "2000000 "); /* max-line 8 */
	/* Over --max-line: kept truncated, in step with the sender. */
	assert_string_equal(text_at(&t, 7), "<13>abcd");
	assert_int_equal(h_count_in_file(s.log, " msg-truncated len=12 "), 1);
	assert_string_equal(text_at(&t, 8), "end");
	assert_string_equal(text_at(&t, 9), "!reason=cut-short count=10 got=3");
	assert_string_equal(text_at(&t, 10), "cut");
}

/* --echo sends a counted message back as it came, LF inside, and one
 * LF after it; -q logs no messages but still the frame-error lines. */
static void test_counted_echo_and_quiet(void **state)
{
	struct srv echo = {0}, quiet = {0};
	struct texts t;
	char line[64];
	int fd;

	(void)state;
	srv_start(&echo, "mtserver", "--echo", "--framing", "octet",
		  (const char *)NULL);
	fd = srv_connect(&echo);
	srv_send(fd, "11 line1\nline25 <1>ab");
	assert_int_equal(h_read_line(fd, line, sizeof(line), 10000), 5);
	assert_string_equal(line, "line1");
	assert_int_equal(h_read_line(fd, line, sizeof(line), 10000), 5);
	assert_string_equal(line, "line2");
	assert_int_equal(h_read_line(fd, line, sizeof(line), 10000), 5);
	assert_string_equal(line, "<1>ab");
	close(fd);
	srv_stop(&echo);

	srv_start(&quiet, "mtserver", "-q", "--framing", "octet",
		  (const char *)NULL);
	SEND(&quiet, "0 x\n");
	srv_stop(&quiet);
	read_texts(&quiet, &t);
	assert_int_equal(t.msgs, 0);
	assert_int_equal(t.faults, 1);
	assert_string_equal(text_at(&t, 0), "!reason=count-zero count=0");
}

static void test_framing_option_checked(void **state)
{
	const char *argv[] = {"--framing", "syslog", "0", NULL};
	struct h_proc p;

	(void)state;
	assert_int_equal(h_spawn(&p, "mtserver", argv, NULL), 0);
	assert_int_equal(h_wait_exit(&p, 10000), 2);
	assert_int_equal(h_count_in_file(p.err_path,
					 "mtserver: invalid --framing "
					 "'syslog' (expected auto, lf or "
					 "octet)\n"),
			 1);
}

/* ---- rsyslogd ---- */

struct rsyslog {
	pid_t pid;
	int in_port; /* its imtcp input */
	char out[H_PATH_MAX];
};

/* Starts rsyslogd forwarding what its imtcp input gets to port with
 * omfwd, octet-counted, the template given ("" for omfwd's default). */
static void rsyslog_start(struct rsyslog *r, const char *rsyslogd, int port,
			  const char *template)
{
	static unsigned seq;
	char name[64], conf[H_PATH_MAX], work[H_PATH_MAX], pid[H_PATH_MAX];
	char portfile[H_PATH_MAX], text[4096], *got;
	long long deadline = h_now_ms() + PEER_MS;
	unsigned n = seq++;

	snprintf(name, sizeof(name), "rsyslog.%u", n);
	snprintf(conf, sizeof(conf), "%s.conf", h_path(name));
	snprintf(work, sizeof(work), "%s.work", h_path(name));
	snprintf(pid, sizeof(pid), "%s.pidfile", h_path(name));
	snprintf(portfile, sizeof(portfile), "%s.port", h_path(name));
	snprintf(r->out, sizeof(r->out), "%s.out", h_path(name));
	assert_int_equal(mkdir(work, 0700), 0);
	/* The main queue holds a whole run and discards nothing; at stop
	 * it gets time to forward what it holds. */
	snprintf(
		text, sizeof(text),
		"global(workDirectory=\"%s\")\n"
		"main_queue(queue.type=\"LinkedList\" queue.size=\"%d\"\n"
		"    queue.discardSeverity=\"8\" "
		"queue.timeoutShutdown=\"%d\")\n"
		"module(load=\"imtcp\")\n"
		"input(type=\"imtcp\" address=\"127.0.0.1\" port=\"0\"\n"
		"    listenPortFileName=\"%s\" ruleset=\"forward\")\n"
		"ruleset(name=\"forward\") {\n"
		"    action(type=\"omfwd\" target=\"127.0.0.1\" port=\"%d\"\n"
		"        protocol=\"tcp\" TCP_Framing=\"octet-counted\"%s%s%s)\n"
		"}\n",
		work, 2 * RSYSLOG_MSGS, PEER_MS, portfile, port,
		*template ? " template=\"" : "", template,
		*template ? "\"" : "");
	assert_int_equal(h_write_file(conf, text), 0);
	r->pid = start_peer(
		(const char *[]){rsyslogd, "-n", "-f", conf, "-i", pid, NULL},
		r->out, NULL);
	while ((got = h_slurp(portfile, NULL)) == NULL || atoi(got) <= 0) {
		free(got);
		if (h_now_ms() > deadline ||
		    waitpid(r->pid, NULL, WNOHANG) == r->pid)
			fail_msg("rsyslogd did not start; see %s", r->out);
		h_sleep_ms(20);
	}
	r->in_port = atoi(got);
	free(got);
}

/* Stops rsyslogd by its pid; fails the test unless it exits 0. */
static void rsyslog_stop(struct rsyslog *r)
{
	int rc;

	kill(r->pid, SIGTERM);
	rc = wait_peer(r->pid, PEER_MS + 10000);
	if (rc != 0)
		fail_msg("rsyslogd exit status %d; see %s", rc, r->out);
}

/* Sends rsyslogd's input "c0 mN" for N in [0, count) as RFC 5424
 * messages of app mtest, LF-framed, and closes. */
static void rsyslog_feed(const struct rsyslog *r, int count)
{
	struct timeval bound = {.tv_sec = RSYSLOG_RUN_MS / 1000};
	static char buf[256 * 1024];
	int fd = h_connect("127.0.0.1", r->in_port);
	size_t len = 0;

	assert_true(fd >= 0);
	/* A stuck rsyslogd fails the send instead of holding the test. */
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof(bound)),
		0);
	for (int m = 0; m < count; m++) {
		len += (size_t)snprintf(
			buf + len, sizeof(buf) - len,
			"<13>1 2026-12-07T10:00:00Z host mtest - - - c0 m%d\n",
			m);
		if (sizeof(buf) - len < 128 || m + 1 == count) {
			assert_int_equal(h_send_all(fd, buf, len), 0);
			len = 0;
		}
	}
	close(fd);
}

/* Waits until the file has at least lines lines; reads only what is
 * new at each look.  0, or -1 when timeout_ms passes first. */
static int wait_lines(const char *path, long lines, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	static char buf[64 * 1024];
	int fd = open(path, O_RDONLY);
	long seen = 0;

	if (fd < 0)
		return -1;
	while (seen < lines) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			for (ssize_t i = 0; i < n; i++)
				seen += buf[i] == '\n';
			continue;
		}
		if (h_now_ms() > deadline)
			break;
		h_sleep_ms(50);
	}
	close(fd);
	return seen >= lines ? 0 : -1;
}

/* Each forwarded message must be one log line: "<13>", rsyslog's
 * header, and "c0 mN" at its end, N each once; nothing glued. */
struct forwarded {
	unsigned char *counts;
	int msgs;
	long other;
	const char *example;
};

static void count_forwarded(const struct logline *l, size_t line_len, void *arg)
{
	struct forwarded *f = arg;
	char text[256];
	const char *tail;
	int c, m, end = 0;

	(void)line_len;
	if (!logline_is_message(l))
		return;
	if ((l->event == LOGLINE_MSG || l->event == LOGLINE_SYSLOG) &&
	    l->text != NULL && l->text_len < sizeof(text)) {
		memcpy(text, l->text, l->text_len);
		text[l->text_len] = '\0';
		tail = strrchr(text, ' ');
		if (starts(text, "<13>") && strstr(text + 1, "<13>") == NULL &&
		    tail != NULL && tail > text + 2 && tail[-2] == 'c' &&
		    tail[-1] == '0' && sscanf(tail, " m%d%n", &m, &end) == 1 &&
		    tail[end] == '\0' && m >= 0 && m < f->msgs) {
			c = f->counts[m];
			f->counts[m] = (unsigned char)(c < 255 ? c + 1 : c);
			return;
		}
	}
	f->other++;
}

static void check_forwarded(const struct srv *s, int msgs)
{
	struct forwarded f = {.counts = calloc((size_t)msgs, 1), .msgs = msgs};

	assert_non_null(f.counts);
	assert_int_equal(h_each_logline(s->log, count_forwarded, &f), 0);
	if (f.other != 0)
		fail_msg("%ld message lines are not one forwarded message "
			 "each (glued, cut or with their count); see %s",
			 f.other, s->log);
	for (int m = 0; m < msgs; m++)
		if (f.counts[m] != 1)
			fail_msg("c0 m%d logged %d times; see %s", m,
				 f.counts[m], s->log);
	free(f.counts);
	assert_int_equal(h_count_in_file(s->log, " frame-error "), 0);
}

/* Forwards msgs messages through rsyslogd with the template, and checks
 * each was logged once, whole. */
static void rsyslog_run(const char *template, int msgs)
{
	char path[H_PATH_MAX], needle[64];
	const char *rsyslogd = peer(path, sizeof(path), "rsyslogd", "rsyslog");
	struct rsyslog r = {0};
	struct srv s = {0};

	if (rsyslogd == NULL) {
		skip();
		return;
	}
	srv_start(&s, "mtserver", (const char *)NULL);
	rsyslog_start(&r, rsyslogd, s.p.port, template);
	rsyslog_feed(&r, msgs);
	/* The start line, omfwd's connect, and the messages. */
	if (wait_lines(s.log, 2 + msgs, RSYSLOG_RUN_MS) == -1)
		fail_msg("not all %d messages reached %s in %d s", msgs, s.log,
			 RSYSLOG_RUN_MS / 1000);
	rsyslog_stop(&r);
	snprintf(needle, sizeof(needle),
		 " disconnect reason=client-closed messages=%d ", msgs);
	srv_wait_log(&s, needle, 1);
	srv_stop(&s);
	check_forwarded(&s, msgs);
}

/* omfwd's default template (RSYSLOG_TraditionalForwardFormat) ends
 * with the message: on LF framing every frame glued to the next. */
static void test_rsyslog_omfwd_octet_counted_100k(void **state)
{
	(void)state;
	rsyslog_run("", RSYSLOG_MSGS);
}

/* RSYSLOG_SyslogProtocol23Format ends each message with an LF inside
 * its count: dropped, as rsyslog's own imtcp drops it. */
static void test_rsyslog_protocol23_trailing_newline(void **state)
{
	(void)state;
	rsyslog_run("RSYSLOG_SyslogProtocol23Format", 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logger_octet_count_rfc5424_tcp),
		cmocka_unit_test(
			test_logger_octet_counted_newline_stays_in_message),
		cmocka_unit_test(test_logger_rfc3164_tcp),
		cmocka_unit_test(test_logger_udp),
		cmocka_unit_test(test_auto_framing_per_connection),
		cmocka_unit_test(test_forced_framings),
		cmocka_unit_test(test_bad_counts_logged_and_recovered),
		cmocka_unit_test(test_counted_echo_and_quiet),
		cmocka_unit_test(test_framing_option_checked),
		cmocka_unit_test(test_rsyslog_omfwd_octet_counted_100k),
		cmocka_unit_test(test_rsyslog_protocol23_trailing_newline),
	};

	return cmocka_run_group_tests_name("syslog_peers", tests, NULL,
					   srv_teardown);
}
