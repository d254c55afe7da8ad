/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_fleet.c - a fleet (issue 26, items 2 and 3): Debian's HAProxy in
 * front of three mtservers on loopback, PROXY v2 and health checks as in
 * docs/fleet.md, loaded by flood.
 *
 * - One node stopped (SIGTERM) under load: its clients reconnect
 *   through HAProxy to the others (flood --reconnect), the stopped node's
 *   log holds every message it received (per session, as many message
 *   lines as its disconnect line counts, each client's in order without
 *   a hole), no message is in two logs, and what was lost in flight is
 *   no more than flood counted as in doubt.  Health checks are no
 *   clients in any log.
 * - The load tool scaled out: two flood processes against the fleet,
 *   their HdrHistogram logs merged by flood --merge, count for count;
 *   and the merge of two logs of known samples equals one histogram of
 *   all the samples, percentile for percentile.
 *
 * Skipped, saying so, when haproxy or mtserver is missing.  Every wait
 * is bounded; no assertion on a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "haproxy.h"
#include "hdrlog.h"
#include "hist.h"
#include "servers.h"

/* The fleet: nodes behind one HAProxy. */
#define NODES_MAX 3

/* The load of the stop test: 30 clients x 600 messages at 6,000 a
 * second in all, so about 3 s, through which node 1 is stopped. */
#define CLIENTS	 30
#define MESSAGES 600

struct fleet {
	struct srv node[NODES_MAX];
	int nodes;
	pid_t haproxy;
	int port; /* HAProxy's */
};

static struct fleet fleet;

static int teardown(void **state)
{
	hap_stop(&fleet.haproxy);
	return srv_teardown(state);
}

/* n mtservers (each with the extra option, or NULL) behind HAProxy:
 * PROXY v2 from 127.0.0.2 (the only source the nodes trust), health
 * checks every 100 ms, round robin, a connection refused by a node
 * retried on another (option redispatch).  0, or -1 when haproxy is
 * not installed (the test skips). */
static int fleet_start(struct fleet *f, int n, const char *extra)
{
	char bin[H_PATH_MAX], conf[4096], servers[1024];
	const char *conf_path = h_path("haproxy.cfg");
	const char *err_path = h_path("haproxy.err");
	size_t len = 0;

	if (hap_which(bin, sizeof(bin)) == NULL ||
	    access(h_bin("mtserver"), X_OK) != 0)
		return -1;
	memset(f, 0, sizeof(*f));
	f->nodes = n;
	for (int i = 0; i < n; i++) {
		srv_start(&f->node[i], "mtserver", "--proxy-protocol",
			  "--proxy-from", "127.0.0.2/32", "--no-udp",
			  "--drain-timeout", "1", extra, (const char *)NULL);
		len += (size_t)snprintf(
			servers + len, sizeof(servers) - len,
			"  server node%d 127.0.0.1:%d send-proxy-v2 source "
			"127.0.0.2 check inter 100ms fall 1 rise 2\n",
			i, f->node[i].p.port);
	}
	for (int tries = 0; tries < 5 && f->haproxy <= 0; tries++) {
		f->port = h_free_port();
		snprintf(conf, sizeof(conf),
			 "global\n"
			 "  maxconn 2000\n"
			 "defaults\n"
			 "  mode tcp\n"
			 "  timeout connect 1s\n"
			 "  timeout client 30s\n"
			 "  timeout server 30s\n"
			 "  retries 3\n"
			 "  option redispatch\n"
			 "listen front\n"
			 "  bind 127.0.0.1:%d\n"
			 "  balance roundrobin\n"
			 "%s",
			 f->port, servers);
		assert_int_equal(h_write_file(conf_path, conf), 0);
		f->haproxy = hap_start(bin, conf_path, err_path, f->port);
	}
	if (f->haproxy <= 0)
		fail_msg("haproxy did not start; see %s", err_path);
	return 0;
}

/* Starts flood ARGS... (ending with NULL) against the fleet. */
static void flood_start(struct h_proc *p, const struct fleet *f, ...)
{
	const char *argv[32];
	char port[16];
	va_list ap;
	int n = 0;

	snprintf(port, sizeof(port), "%d", f->port);
	argv[n++] = "-H";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = port;
	argv[n++] = "--max-time";
	argv[n++] = "100";
	va_start(ap, f);
	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		assert_true(++n < 31);
	va_end(ap);
	assert_int_equal(h_spawn(p, "flood", argv, NULL), 0);
}

static void flood_done(struct h_proc *p)
{
	int rc = h_wait_exit(p, 120000);

	if (rc != 0)
		fail_msg("flood exited %d; see %s and %s", rc, p->out_path,
			 p->err_path);
}

/* The integer "key": inside the object "obj": of flood's JSON in the
 * file at path, or -1. */
static long long json_sub(const char *path, const char *obj, const char *key)
{
	char *text = h_slurp(path, NULL), pat[64];
	const char *at;
	long long v = -1;

	snprintf(pat, sizeof(pat), "\"%s\":{", obj);
	at = text != NULL ? strstr(text, pat) : NULL;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if (at != NULL && (at = strstr(at, pat)) != NULL)
		v = strtoll(at + strlen(pat), NULL, 10);
	free(text);
	return v;
}

/* A number from a JSON file: the integer after "key":, or -1. */
static long long json_at(const char *path, const char *key)
{
	char pat[64];

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	return h_number_after(path, pat);
}

/* What one node's log says of each client and of each session. */
struct node_view {
	long long first[CLIENTS], last[CLIENTS], count[CLIENTS];
	/* per session #id: message lines, and the disconnect's count */
	long long lines[CLIENTS * 8], said[CLIENTS * 8];
	int sessions_over; /* session ids past the arrays */
	int msgs, connects, from_balancer;
};

static void view_line(struct node_view *v, const char *line)
{
	const char *at = strstr(line, " #");
	unsigned id, c;
	unsigned long long seq, said;
	char event[16];

	if (strncmp(line + strcspn(line, " "), " tcp 127.0.0.2:", 15) == 0)
		v->from_balancer++;
	if (at == NULL || sscanf(at, " #%u %15s", &id, event) != 2)
		return;
	if (id >= CLIENTS * 8) {
		v->sessions_over++;
		return;
	}
	if (strcmp(event, "connect") == 0) {
		v->connects++;
	} else if (strcmp(event, "msg") == 0 &&
		   sscanf(strstr(at, " msg ") + 5, "c%u m%llu", &c, &seq) ==
			   2 &&
		   c < CLIENTS) {
		v->msgs++;
		v->lines[id]++;
		if (v->count[c]++ == 0)
			v->first[c] = (long long)seq;
		else if ((long long)seq != v->last[c] + 1)
			fail_msg("c%u m%llu after m%lld in one log: a hole", c,
				 seq, v->last[c]);
		v->last[c] = (long long)seq;
	} else if (strcmp(event, "disconnect") == 0) {
		at = strstr(at, " messages=");
		if (at != NULL && sscanf(at, " messages=%llu", &said) == 1)
			v->said[id] = (long long)said;
	}
}

static void view_node(struct node_view *v, const char *log)
{
	char *text = h_slurp(log, NULL), *line, *save = NULL;

	assert_non_null(text);
	memset(v, 0, sizeof(*v));
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		view_line(v, line);
	free(text);
	assert_int_equal(v->sessions_over, 0);
}

/* Per client: all its messages on one node, or m0..mK on node 1 (the
 * stopped one) and mJ..m(MESSAGES-1), J > K, on another; the sum of the
 * gaps J - K - 1 (fails the test for any other shape). */
static long long lost_at_the_cut(const struct node_view *v, int nodes)
{
	long long gaps = 0;

	for (int c = 0; c < CLIENTS; c++) {
		int on = 0, other = -1;

		for (int i = 0; i < nodes; i++)
			if (v[i].count[c] > 0) {
				on++;
				if (i != 1)
					other = i;
			}
		if (other == -1 || on > 2 || (on == 2 && v[1].count[c] == 0))
			fail_msg("c%d on %d nodes", c, on);
		if (v[other].last[c] != MESSAGES - 1)
			fail_msg("c%d ends at m%lld", c, v[other].last[c]);
		if (on == 1) {
			if (v[other].first[c] != 0)
				fail_msg("c%d starts at m%lld", c,
					 v[other].first[c]);
			continue;
		}
		if (v[1].first[c] != 0 || v[other].first[c] <= v[1].last[c])
			fail_msg("c%d: m%lld..m%lld on node 1, from m%lld on "
				 "node %d",
				 c, v[1].first[c], v[1].last[c],
				 v[other].first[c], other);
		gaps += v[other].first[c] - v[1].last[c] - 1;
	}
	return gaps;
}

/*
 * The stop under load.  What is asserted, and why it is all one-way
 * mode can promise: flood never resends a whole message (that could log
 * it twice), so a message written into a connection that the stopped
 * node cut is either in that node's log or lost in flight, and flood
 * counts those as in doubt.  So: nothing in two logs, nothing corrupt,
 * the stopped node logged every message it received (its per-session
 * count in the disconnect line equals the lines; each client's run in
 * each log is in order, without a hole), and missing <= in doubt.
 */
static void test_stop_one_node_under_load(void **state)
{
	struct node_view *v;
	char clients[16], messages[16];
	long long reconnects, in_doubt, missing, connects = 0;
	struct h_proc fl, ver;

	(void)state;
	if (fleet_start(&fleet, 3, NULL) == -1)
		skip();
	snprintf(clients, sizeof(clients), "%d", CLIENTS);
	snprintf(messages, sizeof(messages), "%d", MESSAGES);
	flood_start(&fl, &fleet, "-n", clients, "-m", messages, "--rate",
		    "6000", "--reconnect", "20", "--json", (const char *)NULL);
	/* Node 1 is stopped once it is well into its share. */
	srv_wait_log(&fleet.node[1], " msg c", 500);
	srv_stop(&fleet.node[1]);
	flood_done(&fl);
	hap_stop(&fleet.haproxy);
	srv_stop(&fleet.node[0]);
	srv_stop(&fleet.node[2]);

	reconnects = json_at(fl.out_path, "reconnects");
	in_doubt = json_at(fl.out_path, "messages_in_doubt");
	assert_int_equal(json_at(fl.out_path, "messages_sent"),
			 CLIENTS * MESSAGES);
	assert_int_equal(json_at(fl.out_path, "clients_done"), CLIENTS);
	/* Node 1's clients (a third of them, round robin) moved. */
	assert_true(reconnects >= 1);

	{
		const char *argv[] = {"--verify-log",
				      fleet.node[0].log,
				      fleet.node[1].log,
				      fleet.node[2].log,
				      "-n",
				      clients,
				      "-m",
				      messages,
				      "--json",
				      NULL};

		assert_int_equal(h_spawn(&ver, "flood", argv, NULL), 0);
		assert_true(h_wait_exit(&ver, 60000) >= 0);
	}
	assert_int_equal(json_at(ver.out_path, "duplicated"), 0);
	assert_int_equal(json_at(ver.out_path, "corrupted"), 0);
	assert_int_equal(json_at(ver.out_path, "torn"), 0);
	missing = json_at(ver.out_path, "missing");
	assert_true(missing >= 0);
	if (missing > in_doubt)
		fail_msg("%lld messages missing, only %lld in doubt; see %s",
			 missing, in_doubt, ver.out_path);

	v = calloc(NODES_MAX, sizeof(*v));
	assert_non_null(v);
	for (int i = 0; i < 3; i++) {
		view_node(&v[i], fleet.node[i].log);
		connects += v[i].connects;
		/* Health checks come from 127.0.0.2: no line names it. */
		assert_int_equal(v[i].from_balancer, 0);
		assert_int_equal(
			h_count_in_file(fleet.node[i].log, " refused "), 0);
		if (h_number_after(fleet.node[i].p.err_path,
				   "proxy health checks ") < 1)
			fail_msg("node %d counted no health check; see %s", i,
				 fleet.node[i].p.err_path);
	}
	/* Every message line of the stopped node is in the count its
	 * sessions' disconnect lines give: what it received, it logged. */
	for (int id = 0; id < CLIENTS * 8; id++)
		if (v[1].lines[id] != v[1].said[id])
			fail_msg("node 1 session #%d: %lld message lines, its "
				 "disconnect line says %lld",
				 id, v[1].lines[id], v[1].said[id]);
	assert_true(v[1].msgs > 0);
	/* What is missing is only each moved client's tail on node 1: its
	 * messages are m0..mK there and mJ..the last on one other node. */
	assert_int_equal(lost_at_the_cut(v, 3), missing);
	/* flood's connections only: one per client, one per reconnect at
	 * most (a reconnect HAProxy could not place logs nothing). */
	assert_true(connects >= CLIENTS && connects <= CLIENTS + reconnects);
	print_message("fleet: node 1 stopped under load: %lld reconnects, "
		      "%lld messages in doubt, %lld missing, node logs "
		      "%d / %d / %d messages\n",
		      reconnects, in_doubt, missing, v[0].msgs, v[1].msgs,
		      v[2].msgs);
	free(v);
}

/* "  latency (us)     p50 A  p90 B  p99 C  p99.9 D  max E  (n=F)" of
 * flood --merge, into out[0..6). */
static void merged_figures(const char *path, long long out[6])
{
	char *text = h_slurp(path, NULL);
	const char *at = text != NULL ? strstr(text, "latency (us)") : NULL;

	if (at == NULL ||
	    sscanf(at,
		   "latency (us) p50 %lld p90 %lld p99 %lld p99.9 %lld max "
		   "%lld (n=%lld)",
		   &out[0], &out[1], &out[2], &out[3], &out[4], &out[5]) != 6)
		fail_msg("no latency line in %s:\n%s", path, text ? text : "");
	free(text);
}

static void merge_logs(const char *a, const char *b, long long out[6])
{
	const char *argv[] = {"--merge", a, b, NULL};
	struct h_proc m;

	assert_int_equal(h_spawn(&m, "flood", argv, NULL), 0);
	assert_int_equal(h_wait_exit(&m, 60000), 0);
	merged_figures(m.out_path, out);
}

/* Known samples, as two flood processes on two machines would log
 * them: the merge of their logs is one histogram of all of them - the
 * same count, percentiles and maximum, not an average of two reports. */
static void test_merge_equals_all_samples(void **state)
{
	const char *a = h_path("proc-a.hlog"), *b = h_path("proc-b.hlog");
	struct hist *part = calloc(2, sizeof(*part)),
		    *all = calloc(1, sizeof(*all));
	struct hdrlog_writer w[2];
	const double pct[4] = {50, 90, 99, 99.9};
	uint64_t x = 12345;
	long long got[6] = {0};
	char err[256];

	(void)state;
	assert_non_null(part);
	assert_non_null(all);
	assert_int_equal(
		hdrlog_open(&w[0], a, 1e9, "process a", err, sizeof(err)), 0);
	assert_int_equal(
		hdrlog_open(&w[1], b, 1e9, "process b", err, sizeof(err)), 0);
	/* 5 intervals of 4,000 samples each: process a's are skewed low
	 * (every third), b's spread up to 2 s, so neither alone has the
	 * percentiles of the whole. */
	for (int iv = 0; iv < 5; iv++) {
		for (int i = 0; i < 4000; i++) {
			int to = i % 3 == 0 ? 0 : 1;
			uint64_t us;

			x = x * 6364136223846793005ull + 1442695040888963407ull;
			us = 1 + (x >> 33) % (to == 0 ? 5000 : 2000000);
			hist_record(&part[to], us);
			hist_record(all, us);
		}
		for (int p = 0; p < 2; p++) {
			assert_int_equal(
				hdrlog_interval(&w[p], iv, 1.0, &part[p]), 0);
			memset(&part[p], 0, sizeof(part[p]));
		}
	}
	assert_int_equal(hdrlog_close(&w[0]), 0);
	assert_int_equal(hdrlog_close(&w[1]), 0);
	merge_logs(a, b, got);
	assert_int_equal(got[5], 20000);
	assert_int_equal(got[5], (long long)hist_count(all));
	for (int i = 0; i < 4; i++)
		if (got[i] != (long long)hist_percentile(all, pct[i]))
			fail_msg("p%g: merged %lld, all samples %llu", pct[i],
				 got[i],
				 (unsigned long long)hist_percentile(all,
								     pct[i]));
	/* A log keeps buckets, not values: the maximum is its bucket's
	 * highest value (3 significant digits). */
	assert_int_equal(got[4], (long long)hist_index_high(
					 hist_index_of(hist_max(all))));
	free(part);
	free(all);
}

/* Two flood processes (as if on two machines) against the fleet at
 * once, each logging its round trips: their merged report counts every
 * round trip of both, and its median lies between theirs. */
static void test_two_floods_merged(void **state)
{
	const char *a = h_path("fleet-a.hlog"), *b = h_path("fleet-b.hlog");
	struct h_proc fa, fb;
	long long got[6] = {0}, ca, cb, pa, pb;

	(void)state;
	if (fleet_start(&fleet, 2, "--echo") == -1)
		skip();
	flood_start(&fa, &fleet, "-n", "10", "-d", "2", "--rate", "1000",
		    "--echo", "--hdr-log", a, "--json", (const char *)NULL);
	flood_start(&fb, &fleet, "-n", "10", "-d", "2", "--rate", "1000",
		    "--echo", "--hdr-log", b, "--json", (const char *)NULL);
	flood_done(&fa);
	flood_done(&fb);
	hap_stop(&fleet.haproxy);
	srv_stop(&fleet.node[0]);
	srv_stop(&fleet.node[1]);
	merge_logs(a, b, got);
	ca = json_sub(fa.out_path, "rtt_us", "count");
	cb = json_sub(fb.out_path, "rtt_us", "count");
	assert_true(ca > 0 && cb > 0);
	assert_int_equal(got[5], ca + cb);
	pa = json_sub(fa.out_path, "rtt_us", "p50");
	pb = json_sub(fb.out_path, "rtt_us", "p50");
	/* A mixture's median lies between its parts' (to the histogram's
	 * bucket, 0.1%). */
	if (got[0] * 1000 < (pa < pb ? pa : pb) * 999 ||
	    got[0] * 999 > (pa > pb ? pa : pb) * 1000)
		fail_msg("merged p50 %lld not between %lld and %lld", got[0],
			 pa, pb);
}

/* flood --verify-log over the fleet's logs, -n clients -m messages:
 * its exit status; its JSON in the file *out names. */
static int verify_fleet(const struct fleet *f, const char *clients,
			const char *messages, char *out, size_t size)
{
	const char *argv[16];
	struct h_proc p;
	int n = 0, rc;

	argv[n++] = "--verify-log";
	for (int i = 0; i < f->nodes; i++)
		argv[n++] = f->node[i].log;
	argv[n++] = "-n";
	argv[n++] = clients;
	argv[n++] = "-m";
	argv[n++] = messages;
	argv[n++] = "--json";
	argv[n] = NULL;
	assert_int_equal(h_spawn(&p, "flood", argv, NULL), 0);
	rc = h_wait_exit(&p, 60000);
	snprintf(out, size, "%s", p.out_path);
	return rc;
}

/* Two one-way flood processes (two load machines) against the fleet,
 * their clients numbered apart (--first-client): one --verify-log over
 * the nodes' logs finds all 2 x 20 x 500 messages once.  Numbered
 * alike, the same check finds every message twice: why the option. */
static void test_two_floods_one_verify(void **state)
{
	struct h_proc fa, fb;
	char json[H_PATH_MAX];

	(void)state;
	if (fleet_start(&fleet, 2, NULL) == -1)
		skip();
	flood_start(&fa, &fleet, "-n", "20", "-m", "500", "--first-client", "0",
		    (const char *)NULL);
	flood_start(&fb, &fleet, "-n", "20", "-m", "500", "--first-client",
		    "20", (const char *)NULL);
	flood_done(&fa);
	flood_done(&fb);
	/* The same again, numbered alike: the messages collide. */
	flood_start(&fa, &fleet, "-n", "20", "-m", "500", (const char *)NULL);
	flood_done(&fa);
	hap_stop(&fleet.haproxy);
	srv_stop(&fleet.node[0]);
	srv_stop(&fleet.node[1]);
	assert_int_equal(verify_fleet(&fleet, "40", "500", json, sizeof(json)),
			 1);
	assert_int_equal(json_at(json, "found"), 40 * 500);
	assert_int_equal(json_at(json, "missing"), 0);
	/* Exactly the third run's messages, each a second time. */
	assert_int_equal(json_at(json, "duplicated"), 20 * 500);
	assert_int_equal(json_at(json, "corrupted"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_stop_one_node_under_load,
					  teardown),
		cmocka_unit_test(test_merge_equals_all_samples),
		cmocka_unit_test_teardown(test_two_floods_merged, teardown),
		cmocka_unit_test_teardown(test_two_floods_one_verify, teardown),
	};

	return cmocka_run_group_tests_name("fleet", tests, NULL, teardown);
}
