/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_logformat.c - the log as real tools read it (issue 24, items 2
 * and 4): util-linux logger(1) sends RFC 5424 and RFC 3164 messages over
 * TCP and UDP and the real mtserver logs them with their syslog fields;
 * a JSON-logging mtserver fed hostile bytes writes a log that jq and
 * Python's json module accept line by line, with every message in it
 * byte for byte; flood --verify-log reads a JSON log and fails on a
 * tampered one.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "logline.h"
#include "servers.h"

/* ---- real tools ---- */

/* The path of a tool on $PATH, or skip the test naming its package. */
static const char *need(char *buf, size_t size, const char *prog,
			const char *package)
{
	if (h_which(buf, size, prog) != NULL)
		return buf;
	print_message("skipped: %s not installed (apt-get install %s)\n", prog,
		      package);
	skip();
	return NULL;
}

/* Runs argv[0] (a path) with argv, stdin from in_path (NULL:
 * /dev/null), stdout and stderr to out_path; its exit status, or -1
 * when it does not end within timeout_ms (then killed). */
static int run_tool(const char *const argv[], const char *in_path,
		    const char *out_path, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (in < 0 || out < 0)
			_exit(126);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		h_die_with_parent();
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (h_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		h_sleep_ms(10);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The head of a tool's output, for a failure message (a static buffer:
 * nothing to free on the way out of a failed test). */
static const char *output(const char *path)
{
	static char head[4096];
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	if (fp != NULL) {
		n = fread(head, 1, sizeof(head) - 1, fp);
		fclose(fp);
	}
	head[n] = '\0';
	return head;
}

/* ---- logger(1) -> syslog fields ---- */

/* The syslog line whose text holds `needle`, copied out of the log. */
struct found {
	const char *needle;
	int count;
	enum logline_event event;
	char facility[32], severity[32], hostname[256], app_name[64];
	char procid[160], msgid[40];
	bool has_app_name;
};

static void copy_view(char *dst, size_t size, const char *v, size_t len)
{
	snprintf(dst, size, "%.*s", (int)len, v != NULL ? v : "");
}

static void find_syslog(const struct logline *l, size_t line_len, void *arg)
{
	struct found *f = arg;
	const struct logline_syslog *s = &l->syslog;

	(void)line_len;
	if (l->text == NULL ||
	    memmem(l->text, l->text_len, f->needle, strlen(f->needle)) == NULL)
		return;
	f->count++;
	f->event = l->event;
	copy_view(f->facility, sizeof(f->facility), s->facility,
		  s->facility_len);
	copy_view(f->severity, sizeof(f->severity), s->severity,
		  s->severity_len);
	copy_view(f->hostname, sizeof(f->hostname), s->hostname,
		  s->hostname_len);
	f->has_app_name = s->app_name != NULL;
	copy_view(f->app_name, sizeof(f->app_name), s->app_name,
		  s->app_name_len);
	copy_view(f->procid, sizeof(f->procid), s->procid, s->procid_len);
	copy_view(f->msgid, sizeof(f->msgid), s->msgid, s->msgid_len);
}

/* logger PROTO RFC -p PRIORITY ... MESSAGE against the server. */
static void run_logger(const struct srv *s, const char *proto, const char *rfc,
		       const char *priority, const char *message)
{
	char logger[H_PATH_MAX], port[16];
	const char *out = h_path("logger.out");
	int rc;

	need(logger, sizeof(logger), "logger", "bsdutils");
	snprintf(port, sizeof(port), "%d", s->p.port);
	{
		const char *argv[] = {logger,	   proto, rfc,	   "-n",
				      "127.0.0.1", "-P",  port,	   "-p",
				      priority,	   "-t",  "myapp", "--id=4242",
				      message,	   NULL,  NULL,	   NULL};

		/* --msgid is RFC 5424's only. */
		if (strcmp(rfc, "--rfc5424") == 0) {
			argv[12] = "--msgid";
			argv[13] = "ID47";
			argv[14] = message;
		}
		rc = run_tool(argv, NULL, out, 10000);
	}
	if (rc != 0)
		fail_msg("logger exited %d:\n%s", rc, output(out));
}

/* Sends message with logger and returns the fields it was logged with
 * (a syslog line, exactly one). */
static void logged_fields(struct srv *s, const char *needle, struct found *f)
{
	memset(f, 0, sizeof(*f));
	f->needle = needle;
	srv_stop(s);
	assert_int_equal(h_each_logline(s->log, find_syslog, f), 0);
	if (f->count != 1)
		fail_msg("'%s' logged %d times as a readable line; log %s",
			 needle, f->count, s->log);
}

static void test_logger_rfc5424_tcp(void **state)
{
	struct found f;
	struct srv s = {0};

	(void)state;
	srv_start(&s, "mtserver", (const char *)NULL);
	run_logger(&s, "-T", "--rfc5424", "local3.warning", "hello 5424");
	srv_wait_log(&s, "hello 5424", 1);
	logged_fields(&s, "hello 5424", &f);
	assert_int_equal(f.event, LOGLINE_SYSLOG);
	assert_string_equal(f.facility, "local3");
	assert_string_equal(f.severity, "warning");
	assert_true(strlen(f.hostname) > 0);
	assert_true(f.has_app_name);
	assert_string_equal(f.app_name, "myapp");
	assert_string_equal(f.procid, "4242");
	assert_string_equal(f.msgid, "ID47");
	/* The text format says so in words an operator can grep. */
	assert_int_equal(h_count_in_file(s.log, " syslog facility=local3 "
						"severity=warning hostname="),
			 1);
}

static void test_logger_rfc3164_tcp(void **state)
{
	struct found f;
	struct srv s = {0};

	(void)state;
	srv_start(&s, "mtserver", (const char *)NULL);
	run_logger(&s, "-T", "--rfc3164", "daemon.err", "hello 3164");
	srv_wait_log(&s, "hello 3164", 1);
	logged_fields(&s, "hello 3164", &f);
	assert_int_equal(f.event, LOGLINE_SYSLOG);
	assert_string_equal(f.facility, "daemon");
	assert_string_equal(f.severity, "err");
	assert_true(strlen(f.hostname) > 0);
	assert_false(f.has_app_name);
}

/* A message over --max-line keeps its header in its head: a
 * syslog-truncated line, the fields whole, len= the full length. */
static void test_logger_truncated(void **state)
{
	static char message[301];
	struct found f;
	struct srv s = {0};

	(void)state;
	memset(message, 'x', sizeof(message) - 1);
	memcpy(message, "long one ", 9);
	srv_start(&s, "mtserver", "--max-line", "120", (const char *)NULL);
	run_logger(&s, "-T", "--rfc5424", "auth.crit", message);
	srv_wait_log(&s, " syslog-truncated len=", 1);
	logged_fields(&s, "long one ", &f);
	assert_int_equal(f.event, LOGLINE_SYSLOG_TRUNCATED);
	assert_string_equal(f.facility, "auth");
	assert_string_equal(f.severity, "crit");
	assert_string_equal(f.app_name, "myapp");
	assert_string_equal(f.msgid, "ID47");
}

/* Over UDP (logger -d), into a JSON log, read by logline and by jq. */
static void test_logger_udp_json(void **state)
{
	char jq[H_PATH_MAX];
	const char *out = h_path("jq-udp.out");
	struct found f;
	struct srv s = {0};
	const char *got;
	int rc;

	(void)state;
	need(jq, sizeof(jq), "jq", "jq");
	srv_start(&s, "mtserver", "--log-format", "json", (const char *)NULL);
	run_logger(&s, "-d", "--rfc5424", "mail.info", "udp 5424");
	run_logger(&s, "-d", "--rfc3164", "local7.emerg", "udp 3164");
	srv_wait_log(&s, "udp 3164", 1);
	srv_wait_log(&s, "udp 5424", 1);
	logged_fields(&s, "udp 5424", &f);
	assert_string_equal(f.facility, "mail");
	assert_string_equal(f.severity, "info");
	assert_string_equal(f.app_name, "myapp");
	assert_string_equal(f.procid, "4242");
	assert_string_equal(f.msgid, "ID47");
	memset(&f, 0, sizeof(f));
	f.needle = "udp 3164";
	assert_int_equal(h_each_logline(s.log, find_syslog, &f), 0);
	assert_int_equal(f.count, 1);
	assert_string_equal(f.facility, "local7");
	assert_string_equal(f.severity, "emerg");
	{
		static const char filter[] =
			"select(.event == \"syslog\") | [.transport, "
			".facility, .severity, .[\"app-name\"] // \"none\", "
			".procid // \"none\", .msgid // \"none\"] | join(\" \")";
		const char *argv[] = {jq, "-r", filter, s.log, NULL};

		rc = run_tool(argv, NULL, out, 10000);
	}
	got = output(out);
	if (rc != 0 || strstr(got, "udp mail info myapp 4242 ID47\n") == NULL ||
	    strstr(got, "udp local7 emerg none none none\n") == NULL)
		fail_msg("jq exited %d:\n%s", rc, got);
}

/* ---- a JSON log under hostile input ---- */

/* The hostile messages: every byte between plain ones, format and
 * control characters, broken UTF-8, JSON and log look-alikes, syslog
 * headers with quotes and backslashes in their names, random bytes.
 * None holds '\n', '\r' or NUL (the framer's terminators). */
#define HOSTILE_MAX 600

struct hostile {
	char text[HOSTILE_MAX][160];
	size_t len[HOSTILE_MAX];
	int n;
	unsigned char seen[HOSTILE_MAX];
};

static void add(struct hostile *h, const char *s, size_t len)
{
	assert_true(h->n < HOSTILE_MAX && len < sizeof(h->text[0]));
	memcpy(h->text[h->n], s, len);
	h->len[h->n++] = len;
}

#define ADD(h, lit) add((h), (lit), sizeof(lit) - 1)

static void make_hostile(struct hostile *h)
{
	static const char *const fixed[] = {
		"\"}",
		"\"},{\"event\":\"stop\"",
		"\\",
		"\\\\\"",
		"\\u0000",
		"\\x41",
		"{\"ts\":\"2026-01-01T00:00:00.000000Z\","
		"\"event\":\"stop\"}",
		"\xe2\x80\xae"
		"gnp.exe", /* U+202E right-to-left */
		"\xe2\x81\xa6"
		"x"
		"\xe2\x81\xa9", /* isolates */
		"\xef\xbb\xbf"
		"bom",
		"zero\xe2\x80\x8bwidth",
		"\xe2\x80\xa8line\xe2\x80\xa9para", /* U+2028, U+2029 */
		"\xc2\x85"
		"nel",
		"\xc0\xaf"
		"overlong",
		"\xed\xa0\x80"
		"surr",
		"\xf4\x90\x80\x80"
		"beyond",
		"\xff\xfe\xfd",
		"cut\xe4\xbd",
		"\xe4\xbd\xa0\xe5\xa5\xbd",
		"\xf0\x9f\x98\x80",
		"\x1b[31mred\x1b[0m",
		"bell\x07 del\x7f tab\t",
		"<13>1 - h\"x a\\b p\"q m\\ - quote and backslash names",
		"<13>1 2026-12-07T19:27:57Z h a p m [x@1 k=\"v\\\"\\]\"] sd",
		"<13>Dec  7 19:27:57 h\"o\\st tag: 3164 names",
		"<13>Dec  7 19:27:57 host \xff\x01 raw after a header",
	};
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char s[160];

	h->n = 0;
	for (int b = 1; b < 256; b++) {
		if (b == '\n' || b == '\r')
			continue;
		s[0] = 'a';
		s[1] = (char)b;
		s[2] = 'b';
		add(h, s, 3);
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		add(h, fixed[i], strlen(fixed[i]));
	while (h->n < HOSTILE_MAX) {
		size_t len = 1 + (x >> 33) % 150;

		for (size_t j = 0; j < len; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			s[j] = (char)(x >> 24);
			if (s[j] == '\n' || s[j] == '\r' || s[j] == '\0')
				s[j] = '"';
		}
		add(h, s, len);
	}
}

static void mark_seen(const struct logline *l, size_t line_len, void *arg)
{
	struct hostile *h = arg;

	(void)line_len;
	if (l->text == NULL)
		return;
	for (int i = 0; i < h->n; i++)
		if (h->len[i] == l->text_len &&
		    memcmp(h->text[i], l->text, l->text_len) == 0 &&
		    h->seen[i] < 255)
			h->seen[i]++;
}

static size_t count_lines(const char *path)
{
	return h_count_in_file(path, "\n");
}

static void test_json_log_of_hostile_input(void **state)
{
	static struct hostile h;
	char jq[H_PATH_MAX], py[H_PATH_MAX];
	const char *jq_out = h_path("jq-hostile.out");
	const char *py_out = h_path("py-hostile.out");
	struct srv s = {0};
	size_t lines;
	const char *got;
	int fd, ufd, rc;

	(void)state;
	need(jq, sizeof(jq), "jq", "jq");
	need(py, sizeof(py), "python3", "python3");
	make_hostile(&h);
	srv_start(&s, "mtserver", "--log-format", "json", (const char *)NULL);
	fd = srv_connect(&s);
	for (int i = 0; i < h.n; i++) {
		assert_int_equal(h_send_all(fd, h.text[i], h.len[i]), 0);
		assert_int_equal(h_send_all(fd, "\n", 1), 0);
	}
	close(fd);
	/* The same messages as datagrams, one each. */
	ufd = h_udp("127.0.0.1", s.p.port);
	assert_true(ufd >= 0);
	for (int i = 0; i < h.n; i++) {
		assert_true(send(ufd, h.text[i], h.len[i], 0) ==
			    (ssize_t)h.len[i]);
		if (i % 50 == 49) /* the socket's buffer: let it drain */
			h_sleep_ms(20);
	}
	close(ufd);
	srv_wait_log(&s, "\"event\":\"disconnect\"", 1);
	h_sleep_ms(300);
	srv_stop(&s);

	/* Every message is in the log whole, from TCP; (UDP may drop
	 * datagrams: those that arrived are whole too). */
	assert_int_equal(h_each_logline(s.log, mark_seen, &h), 0);
	for (int i = 0; i < h.n; i++)
		if (h.seen[i] < 1)
			fail_msg("hostile message %d (%zu bytes) not logged "
				 "whole; log %s",
				 i, h.len[i], s.log);

	/* jq reads every line as one JSON value. */
	lines = count_lines(s.log);
	assert_true(lines > (size_t)h.n);
	{
		const char *argv[] = {jq, "-c", ".", s.log, NULL};

		rc = run_tool(argv, NULL, jq_out, 30000);
	}
	if (rc != 0 || count_lines(jq_out) != lines)
		fail_msg("jq exited %d, %zu of %zu lines:\n%.2000s", rc,
			 count_lines(jq_out), lines, output(jq_out));

	/* Python: strict UTF-8, strict JSON (no control characters in
	 * strings), an object per line with ts and event. */
	{
		const char *code =
			"import json, sys\n"
			"n = 0\n"
			"with open(sys.argv[1], 'rb') as f:\n"
			"    for raw in f:\n"
			"        assert raw.endswith(b'\\n'), raw\n"
			"        o = json.loads(raw.decode('utf-8', 'strict'))\n"
			"        assert isinstance(o, dict) and 'ts' in o and "
			"'event' in o, o\n"
			"        n += 1\n"
			"print(n)\n";
		const char *argv[] = {py, "-c", code, s.log, NULL};

		rc = run_tool(argv, NULL, py_out, 30000);
	}
	got = output(py_out);
	if (rc != 0 || strtoul(got, NULL, 10) != lines)
		fail_msg("python3 exited %d (%zu lines):\n%.2000s", rc, lines,
			 got);
}

/* ---- flood --verify-log over a JSON log ---- */

static int verify(const char *log)
{
	struct h_proc p;
	const char *argv[] = {"--verify-log", log,   "-n", "4",
			      "-m",	      "250", NULL};

	assert_int_equal(h_spawn(&p, "flood", argv, NULL), 0);
	return h_wait_exit(&p, 30000);
}

/* Writes the log at path to out with the first line holding needle
 * dropped (whole) or without its last byte, the closing brace. */
static void tamper(const char *path, const char *out, const char *needle,
		   bool whole)
{
	char *text = h_slurp(path, NULL);
	char *at, *bol, *eol;
	FILE *fp;

	assert_non_null(text);
	at = strstr(text, needle);
	assert_non_null(at);
	for (bol = at; bol > text && bol[-1] != '\n'; bol--)
		;
	eol = strchr(at, '\n');
	assert_non_null(eol);
	assert_int_equal(eol[-1], '}');
	fp = fopen(out, "w");
	assert_non_null(fp);
	fwrite(text, 1, (size_t)(bol - text), fp);
	if (!whole)
		fwrite(bol, 1, (size_t)(eol - 1 - bol), fp);
	fputs(eol, fp);
	fclose(fp);
	free(text);
}

static void test_flood_verifies_a_json_log(void **state)
{
	const char *bad = h_path("tampered.log");
	char port[16];
	struct h_proc p;
	struct srv s = {0};

	(void)state;
	srv_start(&s, "mtserver", "--log-format", "json", (const char *)NULL);
	snprintf(port, sizeof(port), "%d", s.p.port);
	{
		const char *argv[] = {"-p", port, "-n", "4", "-m", "250", NULL};

		assert_int_equal(h_spawn(&p, "flood", argv, NULL), 0);
		assert_int_equal(h_wait_exit(&p, 60000), 0);
	}
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, "\"event\":\"msg\""), 1000);
	assert_int_equal(verify(s.log), 0);
	/* A message line gone: one missing. */
	tamper(s.log, bad, "\"text\":\"c2 m17 ", true);
	assert_int_equal(verify(bad), 1);
	/* A line without its closing brace is not the writer's. */
	tamper(s.log, bad, "\"text\":\"c3 m9 ", false);
	assert_int_equal(verify(bad), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logger_rfc5424_tcp),
		cmocka_unit_test(test_logger_rfc3164_tcp),
		cmocka_unit_test(test_logger_truncated),
		cmocka_unit_test(test_logger_udp_json),
		cmocka_unit_test(test_json_log_of_hostile_input),
		cmocka_unit_test(test_flood_verifies_a_json_log),
	};

	return cmocka_run_group_tests(tests, NULL, srv_teardown);
}
