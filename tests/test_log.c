/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_log.c - escaping, line format and the shared logger (log.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "swar.h"
#include "log.h"
#include "logfmt.h"
#include "logline.h"
#include "monotime.h"

static void expect_escape(const char *in, size_t len, const char *want)
{
	char out[1024];
	size_t n = logfmt_escape(out, in, len);

	assert_true(n <= LOGFMT_ESCAPED_MAX(len));
	out[n] = '\0';
	assert_string_equal(out, want);
}

#define ESC(lit, want) expect_escape(lit, sizeof(lit) - 1, want)

static void test_escape_ascii_and_controls(void **state)
{
	(void)state;
	ESC("hello, world ~!", "hello, world ~!");
	ESC("a\\b", "a\\\\b");
	ESC("tab\there", "tab\\there");
	ESC("\r\n", "\\r\\n");
	ESC("\x1b[2J\x07", "\\x1b[2J\\x07");
	ESC("\x7f\x01", "\\x7f\\x01");
	ESC("\0z", "\\x00z");
	/* A forged log line stays on one line, visibly escaped. */
	ESC("x\n2026-01-01T00:00:00.000000Z tcp 1.2.3.4:5 #1 msg evil",
	    "x\\n2026-01-01T00:00:00.000000Z tcp 1.2.3.4:5 #1 msg evil");
}

static void test_escape_utf8(void **state)
{
	(void)state;
	/* Printable UTF-8 (here Chinese and an emoji) stays readable. */
	ESC("\xe5\xae\xa2\xe6\x88\xb7\xe7\xab\xaf", "\xe5\xae\xa2\xe6\x88\xb7"
						    "\xe7\xab\xaf");
	ESC("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	ESC("\xc2\xa0", "\xc2\xa0");
	/* C1 control U+009B (CSI) is escaped, byte by byte. */
	ESC("\xc2\x9b", "\\xc2\\x9b");
	/* Malformed: lone continuation, truncated, overlong, surrogate. */
	ESC("\x80", "\\x80");
	ESC("\xe5\xae", "\\xe5\\xae");
	ESC("\xc0\xaf", "\\xc0\\xaf");
	ESC("\xe0\x80\xaf", "\\xe0\\x80\\xaf");
	ESC("\xed\xa0\x80", "\\xed\\xa0\\x80");
	ESC("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	ESC("\xff", "\\xff");
}

static void test_escape_worst_case_bound(void **state)
{
	char in[256], out[LOGFMT_ESCAPED_MAX(256)];

	(void)state;
	for (int i = 0; i < 256; i++)
		in[i] = (char)i;
	assert_true(logfmt_escape(out, in, sizeof(in)) <= sizeof(out));
}

/* Word tests agree with byte tests on every byte value in every lane,
 * and on random words. */
static void test_swar_predicates(void **state)
{
	unsigned seed = 12345;

	(void)state;
	for (int trial = 0; trial < 200000; trial++) {
		unsigned char b[8];
		uint64_t v;
		int less20 = 0, has0a = 0, has5c = 0;

		for (int k = 0; k < 8; k++) {
			seed = seed * 1103515245u + 12345u;
			b[k] = trial < 2048
				       ? (k == trial % 8
						  ? (unsigned char)(trial / 8)
						  : 'a')
				       : (unsigned char)(seed >> 16);
			less20 |= b[k] < 0x20;
			has0a |= b[k] == 0x0a;
			has5c |= b[k] == 0x5c;
		}
		v = swar_load(b);
		assert_int_equal(swar_has_less(v, 0x20) != 0, less20);
		assert_int_equal(swar_has_byte(v, 0x0a) != 0, has0a);
		assert_int_equal(swar_has_byte(v, 0x5c) != 0, has5c);
	}
}

/* The byte-at-a-time definition of escaping, to check the fast path
 * (ASCII only: UTF-8 is checked case by case above). */
static size_t reference_escape(char *d, const unsigned char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
			d[o++] = (char)s[i];
		else if (s[i] == '\\')
			o += (size_t)sprintf(d + o, "\\\\");
		else if (s[i] == '\n')
			o += (size_t)sprintf(d + o, "\\n");
		else if (s[i] == '\t')
			o += (size_t)sprintf(d + o, "\\t");
		else if (s[i] == '\r')
			o += (size_t)sprintf(d + o, "\\r");
		else
			o += (size_t)sprintf(d + o, "\\x%02x", s[i]);
	}
	return o;
}

static void test_escape_special_byte_at_every_offset(void **state)
{
	static const unsigned char specials[] = {0x00, 0x01, 0x09, 0x0a,
						 0x0d, 0x1b, 0x1f, 0x5c,
						 0x7f, 0x80, 0xff};
	unsigned char in[40];
	char want[4 * 40 + 1], got[4 * 40 + 1];

	(void)state;
	for (size_t k = 0; k < sizeof(specials); k++) {
		for (size_t len = 1; len <= sizeof(in); len++) {
			for (size_t at = 0; at < len; at++) {
				size_t nw, ng;

				memset(in, 'p', len);
				in[at] = specials[k];
				nw = reference_escape(want, in, len);
				ng = logfmt_escape(got, (const char *)in, len);
				assert_int_equal(ng, nw);
				assert_memory_equal(got, want, nw);
			}
		}
	}
}

static void test_timestamp_format(void **state)
{
	struct timespec ts = {.tv_sec = 1795000000, .tv_nsec = 123456789};
	char out[LOGFMT_TS_LEN + 1];

	(void)state;
	logfmt_timestamp(out, &ts);
	out[LOGFMT_TS_LEN] = '\0';
	assert_string_equal(out, "2026-11-18T11:06:40.123456Z");
	ts.tv_sec = 0;
	ts.tv_nsec = 999999999;
	logfmt_timestamp(out, &ts);
	assert_string_equal(out, "1970-01-01T00:00:00.999999Z");
}

/* The date arithmetic agrees with gmtime_r(3) at every day boundary
 * (and a second either side) from 1970 to 2400, leap days and the
 * century rules (2000 a leap year, 2100 not) included. */
static void test_timestamp_matches_gmtime(void **state)
{
	char out[LOGFMT_TS_LEN + 1], want[64];

	(void)state;
	for (long long day = 0; day < 157000; day++) {
		for (int k = -1; k <= 1; k++) {
			struct timespec ts = {.tv_sec =
						      (time_t)(day * 86400 + k),
					      .tv_nsec = 7000};
			struct tm tm;

			if (ts.tv_sec < 0)
				continue;
			assert_non_null(gmtime_r(&ts.tv_sec, &tm));
			snprintf(want, sizeof(want),
				 "%04d-%02d-%02dT%02d:%02d:%02d.000007Z",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
				 tm.tm_hour, tm.tm_min, tm.tm_sec);
			logfmt_timestamp(out, &ts);
			out[LOGFMT_TS_LEN] = '\0';
			assert_string_equal(out, want);
		}
	}
}

static void test_u64_digits(void **state)
{
	static const struct {
		uint64_t v;
		const char *text;
	} cases[] = {
		{0, "0"},
		{7, "7"},
		{10, "10"},
		{1234567890, "1234567890"},
		{UINT64_MAX, "18446744073709551615"},
	};
	char out[LOGFMT_U64_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = logfmt_u64(out, cases[i].v);

		assert_int_equal(n, strlen(cases[i].text));
		out[n] = '\0';
		assert_string_equal(out, cases[i].text);
	}
}

/* Opens a fresh log file and a logger on it. */
static struct logger *open_file_logger(const char *name, int *fd,
				       size_t max_text)
{
	struct logger *lg;

	*fd = open(h_path(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(*fd >= 0);
	lg = log_open(*fd, LOG_BATCH_SIZE + logline_msg_max(max_text));
	assert_non_null(lg);
	return lg;
}

static void test_line_format(void **state)
{
	struct log_batch b;
	struct logger *lg;
	regex_t re;
	char *text;
	int fd;

	(void)state;
	lg = open_file_logger("format.log", &fd, 8);
	assert_int_equal(log_batch_init(&b, lg, 8), 0);
	log_batch_stamp(&b);
	log_batch_msg(&b, "tcp 127.0.0.1:5 #1", 18, "hi\tthere", 8, 8);
	log_batch_msg(&b, "tcp 127.0.0.1:5 #1", 18, "abcdefgh", 8, 100);
	log_batch_msg(&b, "tcp 127.0.0.1:5 #1", 18, "", 0, 0);
	log_batch_free(&b);
	assert_int_equal(log_close(lg, NULL), 0);
	close(fd);

	text = h_slurp(h_path("format.log"), NULL);
	assert_non_null(text);
	assert_int_equal(
		regcomp(&re,
			"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{"
			"2}"
			"\\.[0-9]{6}Z) tcp 127\\.0\\.0\\.1:5 #1 msg "
			"hi\\\\tthere\n"
			"\\1 tcp 127\\.0\\.0\\.1:5 #1 msg-truncated len=100 "
			"abcdefgh\n"
			"\\1 tcp 127\\.0\\.0\\.1:5 #1 msg \n$",
			REG_EXTENDED),
		0);
	assert_int_equal(regexec(&re, text, 0, NULL, 0), 0);
	regfree(&re);
	free(text);
}

#define WRITERS		 16
#define LINES_PER_WRITER 20000

struct writer {
	struct logger *lg;
	int id;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct log_batch b;
	char who[32], text[64];

	snprintf(who, sizeof(who), "tcp 127.0.0.1:1 #%d", w->id);
	assert_int_equal(log_batch_init(&b, w->lg, sizeof(text)), 0);
	for (int i = 0; i < LINES_PER_WRITER; i++) {
		int n = snprintf(text, sizeof(text), "w%d line %d end", w->id,
				 i);

		if (i % 100 == 0)
			log_batch_stamp(&b);
		log_batch_msg(&b, who, strlen(who), text, (size_t)n, (size_t)n);
		if (i % 37 == 0)
			log_batch_flush(&b);
	}
	log_batch_free(&b);
	return NULL;
}

static void test_concurrent_writers_lose_nothing(void **state)
{
	pthread_t threads[WRITERS];
	struct writer writers[WRITERS];
	struct logger *lg;
	char *text, *line, *save = NULL;
	size_t lines = 0;
	static unsigned char seen[WRITERS][LINES_PER_WRITER];
	int fd;

	(void)state;
	lg = open_file_logger("concurrent.log", &fd, 64);
	for (int i = 0; i < WRITERS; i++) {
		writers[i] = (struct writer){lg, i};
		assert_int_equal(pthread_create(&threads[i], NULL, writer_main,
						&writers[i]),
				 0);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(threads[i], NULL);
	assert_int_equal(log_close(lg, NULL), 0);
	close(fd);

	/* Every line whole, each exactly once. */
	text = h_slurp(h_path("concurrent.log"), NULL);
	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		int id, id2, n, end = 0;

		assert_int_equal(sscanf(line + LOGFMT_TS_LEN,
					" tcp 127.0.0.1:1 #%d msg w%d line %d "
					"end%n",
					&id, &id2, &n, &end),
				 3);
		assert_int_equal(line[LOGFMT_TS_LEN + end], '\0');
		assert_int_equal(id, id2);
		assert_true(id >= 0 && id < WRITERS);
		assert_true(n >= 0 && n < LINES_PER_WRITER);
		assert_int_equal(seen[id][n], 0);
		seen[id][n] = 1;
		lines++;
	}
	assert_int_equal(lines, WRITERS * LINES_PER_WRITER);
	free(text);
}

static void test_flushes_without_close(void **state)
{
	struct log_batch b;
	struct logger *lg;
	int fd;

	(void)state;
	lg = open_file_logger("periodic.log", &fd, 16);
	assert_int_equal(log_batch_init(&b, lg, 16), 0);
	log_batch_stamp(&b);
	log_batch_msg(&b, "udp 127.0.0.1:9 #1", 18, "early", 5, 5);
	log_batch_flush(&b);
	/* A lone line must reach the file while the logger stays open. */
	assert_int_equal(
		h_wait_for(h_path("periodic.log"), "msg early", 1, 5000), 0);
	log_batch_free(&b);
	assert_int_equal(log_close(lg, NULL), 0);
	close(fd);
}

static void test_write_failure_reported(void **state)
{
	struct log_batch b;
	struct logger *lg;
	struct log_loss failed = {0};
	int fd = open("/dev/full", O_WRONLY);

	(void)state;
	if (fd < 0)
		skip();
	lg = log_open(fd, LOG_BATCH_SIZE + logline_msg_max(16));
	assert_non_null(lg);
	assert_int_equal(log_batch_init(&b, lg, 16), 0);
	log_batch_stamp(&b);
	log_batch_msg(&b, "tcp 1.2.3.4:5 #1", 16, "lost", 4, 4);
	log_batch_free(&b);
	errno = 0;
	assert_int_equal(log_close(lg, &failed), -1);
	assert_int_equal(errno, ENOSPC);
	assert_true(failed.lines >= 1);
	close(fd);
}

static void test_append_too_large_refused(void **state)
{
	struct logger *lg;
	int fd;
	char *big = calloc(1, LOG_BUFFER_SIZE + 1);

	(void)state;
	assert_non_null(big);
	lg = open_file_logger("big.log", &fd, 16);
	assert_int_equal(log_append(lg, big, LOG_BUFFER_SIZE + 1), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(log_close(lg, NULL), 0);
	close(fd);
	free(big);
}

/*
 * write(2), with the file cut first once cut_fd is armed: someone
 * truncating the log (copytruncate) between the flusher's look at its
 * size and its write, which the look cannot see.
 */
static atomic_int cut_fd = -1;

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	int armed = fd;

	if (atomic_compare_exchange_strong(&cut_fd, &armed, -1))
		assert_int_equal(ftruncate(fd, 0), 0);
	return __real_write(fd, buf, n);
}

static void append_lines(struct logger *lg, const char *word, int n)
{
	struct log_batch b;
	char text[32];

	assert_int_equal(log_batch_init(&b, lg, sizeof(text)), 0);
	log_batch_stamp(&b);
	for (int i = 0; i < n; i++) {
		int len = snprintf(text, sizeof(text), "%s%d", word, i);

		log_batch_msg(&b, "tcp 127.0.0.1:1 #1", 18, text, (size_t)len,
			      (size_t)len);
	}
	log_batch_free(&b);
}

/* A cut met by the write itself still leaves its line, with the size
 * the file had: the copy's size against it counts what was lost. */
static void test_cut_met_by_a_write_is_recorded(void **state)
{
	struct logger *lg;
	struct stat st;
	char want[64], *text;
	int fd = open(h_path("cut.log"),
		      O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);

	(void)state;
	assert_true(fd >= 0);
	lg = log_open(fd, LOG_BATCH_SIZE + logline_msg_max(32));
	assert_non_null(lg);
	append_lines(lg, "before", 10);
	assert_int_equal(h_wait_for(h_path("cut.log"), "msg before9", 1, 5000),
			 0);
	assert_int_equal(fstat(fd, &st), 0);
	atomic_store(&cut_fd, fd);
	append_lines(lg, "after", 10);
	assert_int_equal(log_close(lg, NULL), 0);
	close(fd);
	assert_int_equal(atomic_load(&cut_fd), -1);
	text = h_slurp(h_path("cut.log"), NULL);
	assert_non_null(text);
	snprintf(want, sizeof(want), " - - - log-truncated from=%lld to=0\n",
		 (long long)st.st_size);
	assert_non_null(strstr(text, want));
	assert_null(strstr(text, "msg before"));
	assert_non_null(strstr(text, "msg after9\n"));
	free(text);
}

/* Reads what the pipe holds now (read end non-blocking) into a malloc'd
 * string; *len its length. */
static char *read_pipe(int fd, size_t *len)
{
	size_t cap = 1 << 20;
	char *buf = malloc(cap + 1);
	ssize_t n;

	assert_non_null(buf);
	*len = 0;
	while (*len < cap && (n = read(fd, buf + *len, cap - *len)) > 0)
		*len += (size_t)n;
	buf[*len] = '\0';
	return buf;
}

/*
 * A destination that takes nothing more - a non-blocking pipe nobody
 * reads - holds the flusher in poll(2), not in write(2): once the
 * give-up time has come log_close ends, the pipe holds whole lines only
 * (PIPE_BUF pieces), and every line is in the pipe or counted lost.
 */
static void test_give_up_on_a_stalled_pipe(void **state)
{
	enum { LINES = 20000 }; /* about 1 MB: far more than a pipe takes */
	struct log_loss lost = {0};
	struct logger *lg;
	long long t0, took;
	size_t len;
	char *text;
	int pfd[2];

	(void)state;
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(fcntl(pfd[1], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(pfd[0], F_SETFL, O_NONBLOCK), 0);
	lg = log_open(pfd[1], LOG_BATCH_SIZE + logline_msg_max(32));
	assert_non_null(lg);
	append_lines(lg, "x", LINES);
	h_sleep_ms(300); /* the flusher fills the pipe and waits */
	t0 = h_now_ms();
	log_give_up_at(lg, monotime_ms() + 200);
	assert_int_equal(log_close(lg, &lost), -1);
	assert_int_equal(errno, ETIMEDOUT);
	took = h_now_ms() - t0;
	print_message("log_close took %lld ms\n", took);
	assert_true(took < 200 + 10000);
	text = read_pipe(pfd[0], &len);
	assert_true(len > 0 && text[len - 1] == '\n');
	assert_int_equal(h_count(text, "\n"), h_count(text, " msg x"));
	assert_int_equal(h_count(text, "\n") + lost.lines, LINES);
	free(text);
	close(pfd[0]);
	close(pfd[1]);
}

/* log_try_append never waits: with the buffers full (nobody reads the
 * pipe, nothing given up) the line is counted lost at once. */
/* A line of half a buffer, for filling the logger's buffers. */
static char half_buffer_line[LOG_BUFFER_SIZE / 2];

/* log_try_append of half_buffer_line until it fails (EAGAIN). */
static void fill(struct logger *lg)
{
	int rc = 0;

	for (int i = 0; i < 8 && rc == 0; i++)
		rc = log_try_append(lg, half_buffer_line,
				    sizeof(half_buffer_line));
	assert_int_equal(rc, -1);
	assert_int_equal(errno, EAGAIN);
}

/* A logger writing to pfd[1], a pipe nobody reads, with both buffers
 * full: the spare one the flusher is stuck writing, and the active one.
 * The first fill may end before the flusher has swapped (then the active
 * buffer empties at the swap: seen under TSan), so the second comes once
 * the flusher is writing, which the pipe shows. */
static struct logger *open_filled(int pfd[2])
{
	struct logger *lg;
	int queued = 0;

	memset(half_buffer_line, 'y', sizeof(half_buffer_line));
	half_buffer_line[sizeof(half_buffer_line) - 1] = '\n';
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(fcntl(pfd[1], F_SETFL, O_NONBLOCK), 0);
	lg = log_open(pfd[1], sizeof(half_buffer_line));
	assert_non_null(lg);
	fill(lg);
	for (int i = 0; i < 10000 && queued == 0; i++) {
		assert_int_equal(ioctl(pfd[0], FIONREAD, &queued), 0);
		if (queued == 0)
			h_sleep_ms(1);
	}
	assert_true(queued > 0);
	fill(lg);
	return lg;
}

static void test_try_append_never_waits(void **state)
{
	struct log_loss lost = {0};
	struct logger *lg;
	int pfd[2];

	(void)state;
	lg = open_filled(pfd);
	log_give_up_at(lg, monotime_ms());
	assert_int_equal(log_close(lg, &lost), -1);
	assert_true(lost.lines >= 1);
	close(pfd[0]);
	close(pfd[1]);
}

/* The signal thread's lines are not lost to clients' load: with the
 * buffers full for log_append (nobody reads the pipe), log_try_append
 * still takes event-sized lines from LOG_RESERVE, and only past it are
 * they counted lost. */
static void test_try_append_has_a_reserve(void **state)
{
	static const char event[] =
		"2026-12-07T22:51:26.123Z signal SIGTERM action=stop\n";
	struct log_loss lost = {0};
	struct logger *lg;
	int pfd[2];
	size_t taken = 0;

	(void)state;
	lg = open_filled(pfd); /* full for clients' lines */
	while (log_try_append(lg, event, sizeof(event) - 1) == 0 &&
	       taken < LOG_RESERVE)
		taken++;
	print_message("%zu event lines after the buffers filled\n", taken);
	assert_true(taken >= 16);
	assert_true(taken < LOG_RESERVE / (sizeof(event) - 1) + 1);
	log_give_up_at(lg, monotime_ms());
	assert_int_equal(log_close(lg, &lost), -1);
	close(pfd[0]);
	close(pfd[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_ascii_and_controls),
		cmocka_unit_test(test_escape_utf8),
		cmocka_unit_test(test_escape_worst_case_bound),
		cmocka_unit_test(test_swar_predicates),
		cmocka_unit_test(test_escape_special_byte_at_every_offset),
		cmocka_unit_test(test_timestamp_format),
		cmocka_unit_test(test_timestamp_matches_gmtime),
		cmocka_unit_test(test_u64_digits),
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_concurrent_writers_lose_nothing),
		cmocka_unit_test(test_flushes_without_close),
		cmocka_unit_test(test_write_failure_reported),
		cmocka_unit_test(test_append_too_large_refused),
		cmocka_unit_test(test_cut_met_by_a_write_is_recorded),
		cmocka_unit_test(test_give_up_on_a_stalled_pipe),
		cmocka_unit_test(test_try_append_never_waits),
		cmocka_unit_test(test_try_append_has_a_reserve),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
