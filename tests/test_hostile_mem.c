/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_hostile_mem.c - memory a crowd of clients can make the server
 * hold (issue 11, findings 3 and 4): one budget for every session's
 * buffers, memory given back when the crowd leaves, and allocation
 * failure refusing clients cleanly and recovering.
 */
#define _GNU_SOURCE /* prlimit */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "servers.h"

#define CROWD 400

/* A field of /proc/PID/status in kB ("VmRSS", "VmHWM", "VmSize"), or
 * -1. */
static long status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, flen) == 0 && line[flen] == ':')
			kb = atol(line + flen + 1);
	fclose(f);
	return kb;
}

/* Connects n clients and has each send len bytes of one line that is
 * not finished (no newline): what the server must hold for it. */
static void crowd_with_partial_lines(const struct srv *s, int *fds, int n,
				     size_t len)
{
	char *line = malloc(len);

	assert_non_null(line);
	memset(line, 'p', len);
	for (int i = 0; i < n; i++) {
		fds[i] = srv_connect(s);
		/* The server may refuse (and close) some: that is fine. */
		(void)send(fds[i], line, len, MSG_NOSIGNAL);
	}
	free(line);
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Finding 3: with --max-memory 4M, 400 clients each holding 60 KB of
 * an unfinished line cannot make the server hold their 24 MB: the
 * clients over the budget are told "server busy", the summary's peak
 * buffer memory stays within the budget, and so does the growth of the
 * server's resident memory (with room for 400 threads' stacks). */
static void test_memory_budget_holds(void **state)
{
	static int fds[CROWD];
	struct srv s = {0};
	long before, peak;
	char *err, *at;
	size_t refused;

	(void)state;
	srv_start(&s, "mtserver", "--no-udp", "--max-memory", "4M",
		  "--idle-timeout", "0", (const char *)NULL);
	before = status_kb(s.p.pid, "VmRSS");
	crowd_with_partial_lines(&s, fds, CROWD, 60 * (size_t)1024);
	srv_wait_log(&s, " connect\n", 1);
	/* Every client was served or refused. */
	for (long long t0 = h_now_ms(); h_now_ms() - t0 < 20000;) {
		if (h_count_in_file(s.log, " connect\n") +
			    h_count_in_file(s.log, "refused") >=
		    CROWD)
			break;
		h_sleep_ms(100);
	}
	h_sleep_ms(500);
	peak = status_kb(s.p.pid, "VmHWM");
	refused = h_count_in_file(s.log, "reason=memory-budget");
	close_all(fds, CROWD);
	srv_stop(&s);
	print_message("rss %ld kB -> peak %ld kB; %zu refused\n", before, peak,
		      refused);
	assert_true(refused > CROWD / 2);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	/* Unbounded, the lines alone would be 24,000 kB.  (Sanitizers add
	 * shadow memory and 1 MiB stacks: the summary's figure counts.) */
	assert_true(peak - before < 4096 + 8000);
#endif
	err = h_slurp(s.p.err_path, NULL);
	assert_non_null(err);
	at = strstr(err, "peak buffer memory ");
	assert_non_null(at);
	assert_true(atol(at + strlen("peak buffer memory ")) <= 4096);
	free(err);
}

/* Finding 3: the memory a crowd made the server hold is given back
 * once it has left. */
static void test_memory_given_back(void **state)
{
	static int fds[CROWD];
	struct srv s = {0};
	long before, during, after;

	(void)state;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	skip(); /* a sanitizer's allocator keeps freed memory on purpose */
#endif
	srv_start(&s, "mtserver", "--no-udp", (const char *)NULL);
	before = status_kb(s.p.pid, "VmRSS");
	crowd_with_partial_lines(&s, fds, CROWD, 60 * (size_t)1024);
	srv_wait_log(&s, " connect\n", CROWD);
	h_sleep_ms(1000); /* every session has read its bytes */
	during = status_kb(s.p.pid, "VmRSS");
	close_all(fds, CROWD);
	srv_wait_log(&s, " disconnect ", CROWD);
	h_sleep_ms(1000); /* the reaper joins the workers */
	after = status_kb(s.p.pid, "VmRSS");
	srv_stop(&s);
	print_message("rss %ld kB, %ld kB with the crowd, %ld kB after\n",
		      before, during, after);
	/* The crowd's lines were held... */
	assert_true(during - before > CROWD * 60 / 2);
	/* ...and most of it is given back. */
	assert_true(after - before < (during - before) / 4);
}

/* Sends "ping N\n" on a new connection and reads one line back.  1 if
 * it was the echo, 0 if it was "server busy", -1 otherwise. */
static int ping(const struct srv *s, int n)
{
	char msg[32], line[64];
	int fd = h_connect("127.0.0.1", s->p.port), rc = -1;

	if (fd < 0)
		return -1;
	snprintf(msg, sizeof(msg), "ping %d\n", n);
	if (h_send_all(fd, msg, strlen(msg)) == 0 &&
	    h_read_line(fd, line, sizeof(line), 5000) > 0) {
		if (strcmp(line, "server busy") == 0)
			rc = 0;
		else if (strncmp(line, "ping ", 5) == 0)
			rc = 1;
	}
	close(fd);
	return rc;
}

/* Finding 4: when allocations fail (the address space capped, as
 * prlimit --as does), clients are refused with "server busy" and
 * "refused reason=no-memory" instead of being reset, and the server
 * serves again once the load has left. */
static void test_no_memory_refuses_then_recovers(void **state)
{
	static int fds[CROWD];
	struct srv s = {0};
	struct rlimit lim;
	long size;
	int served = 0, busy = 0;

	(void)state;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	skip(); /* a sanitizer's shadow memory needs the address space */
#endif
	srv_start(&s, "mtserver", "--echo", "--no-udp", (const char *)NULL);
	assert_int_equal(ping(&s, 0), 1);
	h_sleep_ms(300);
	/* Room for a few sessions beyond what the server holds now. */
	size = status_kb(s.p.pid, "VmSize");
	assert_true(size > 0);
	lim.rlim_cur = lim.rlim_max = (rlim_t)(size + 8192) * 1024;
	assert_int_equal(prlimit(s.p.pid, RLIMIT_AS, &lim, NULL), 0);
	crowd_with_partial_lines(&s, fds, 100, 100);
	for (long long t0 = h_now_ms(); h_now_ms() - t0 < 20000;) {
		if (h_count_in_file(s.log, "refused reason=no-") > 0)
			break;
		h_sleep_ms(100);
	}
	assert_true(h_count_in_file(s.log, "refused reason=no-memory") +
			    h_count_in_file(s.log, "refused reason=no-thread") >
		    0);
	assert_int_equal(h_count_in_file(s.log, "Cannot allocate memory"), 0);
	close_all(fds, 100);
	srv_wait_log(&s, " disconnect ", 1);
	h_sleep_ms(1500); /* the crowd's threads are joined */
	/* One at a time, clients are served again. */
	for (int i = 1; i <= 5; i++) {
		int rc = ping(&s, i);

		served += rc == 1;
		busy += rc == 0;
		h_sleep_ms(100);
	}
	print_message("after the crowd: %d served, %d busy; log %s\n", served,
		      busy, s.log);
	assert_int_equal(served, 5);
	/* (The limit stays: raising it again needs CAP_SYS_RESOURCE.) */
	srv_stop(&s);
}

/* Resident kB over the mappings of exactly size bytes (worker stacks)
 * of process pid, and how many there are. */
static long stacks_rss_kb(pid_t pid, size_t size, int *count)
{
	char path[64], line[512];
	unsigned long lo, hi;
	long kb, sum = 0;
	int in_stack = 0;
	FILE *f;

	*count = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, ':') != NULL && strstr(line, "rw-p") != NULL) {
			in_stack = hi - lo == size;
			*count += in_stack;
		} else if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in_stack = 0;
		} else if (in_stack && sscanf(line, "Rss: %ld kB", &kb) == 1) {
			sum += kb;
		}
	}
	fclose(f);
	return sum;
}

/* An idle client's worker touches one page of its stack, the one the
 * thread's descriptor already holds (workers.h): the connect line, the
 * session's state and the wait all fit there.  (A regression - the
 * session grew, gmtime_r's stack - once made it two: 10,000 idle
 * clients took 85 MB instead of 45.) */
static void test_idle_client_touches_one_stack_page(void **state)
{
	static int fds[CROWD];
	struct srv s = {0};
	long page_kb = sysconf(_SC_PAGESIZE) / 1024, kb;
	int stacks;

	(void)state;
	if (strcmp(srv_model(), "mtserver") != 0)
		skip(); /* thread per connection's own: no worker stacks */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	skip(); /* sanitizers pad every frame, and stacks are 1 MiB */
#endif
	srv_start(&s, "mtserver", "--no-udp", "--idle-timeout", "0",
		  (const char *)NULL);
	for (int i = 0; i < CROWD; i++)
		fds[i] = srv_connect(&s);
	srv_wait_log(&s, " connect\n", CROWD);
	h_sleep_ms(300); /* every worker is in its wait */
	kb = stacks_rss_kb(s.p.pid, 64 * (size_t)1024, &stacks);
	close_all(fds, CROWD);
	srv_stop(&s);
	print_message("%d worker stacks, %ld kB resident\n", stacks, kb);
	assert_true(stacks >= CROWD);
	/* One page each, and a few pages to spare. */
	assert_true(kb <= stacks * page_kb + 8 * page_kb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_budget_holds),
		cmocka_unit_test(test_memory_given_back),
		cmocka_unit_test(test_no_memory_refuses_then_recovers),
		cmocka_unit_test(test_idle_client_touches_one_stack_page),
	};

	return cmocka_run_group_tests_name("hostile-mem", tests, NULL,
					   srv_teardown);
}
