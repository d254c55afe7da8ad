/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flood - load generator for mtserver (and other line servers).
 *
 * This file is only the program's frame: parse the options, set up the
 * process (signals, file limit), run the engine or the log check, print
 * the report and turn the outcome into the exit status:
 * 0 everything done, 1 something failed or was lost, 2 usage error,
 * 128 + N a run stopped by signal N (SIGINT: 130), as a shell reports
 * it.
 * The work is in the library modules: fcli (options), engine (the
 * load), fmsg (messages, log check), hist (latency), report (output).
 */
#include "cli.h"
#include "engine.h"
#include "fchat.h"
#include "net.h"
#include "fcli.h"
#include "fmsg.h"
#include "hdrlog.h"
#include "report.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* Room for one option error or setup error message. */
#define ERR_LEN 256

/* The signal that stopped the run, for the exit status 128 + N. */
static volatile sig_atomic_t stop_signal;

/* The name flood was invoked as, for --help, --version and its error
 * lines: installed, it is mtflood. */
static const char *prog = "flood";

static void on_signal(int sig)
{
	stop_signal = sig;
	eng_request_stop();
	fchat_request_stop();
}

/* SIGINT/SIGTERM stop the run and still print the report; SIGPIPE is
 * ignored so that a closed stdout or socket is an error, not death. */
static int setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

/* Every client holds one descriptor; the threads' epoll instances and
 * stdio need a few more. */
static void check_nofile(const struct fcli_opts *o)
{
	unsigned long need = (unsigned long)o->clients + o->threads + 16;
	unsigned long have;

	if (net_raise_nofile(&have) == -1) {
		fprintf(stderr, "%s: RLIMIT_NOFILE: %s\n", prog,
			strerror(errno));
		return;
	}
	if (have < need)
		fprintf(stderr,
			"%s: open file limit is %lu, -n %u needs "
			"about %lu: expect EMFILE\n",
			prog, have, o->clients, need);
}

static int verify(const struct fcli_opts *o)
{
	struct fmsg_verify v;
	char err[ERR_LEN];
	int ok;

	if (fmsg_verify_init(&v, o->clients, o->messages, o->size,
			     o->allow_missing_tail) == -1) {
		fprintf(stderr, "%s: --verify-log: %s\n", prog,
			errno == ENOMEM ? "out of memory"
					: "-n x -m is too large");
		return errno == ENOMEM ? 1 : 2;
	}
	v.start_us = o->run_start_us;
	for (unsigned i = 0; i < o->nverify; i++) {
		if (fmsg_verify_add_file(&v, o->verify_logs[i], err,
					 sizeof(err)) == -1) {
			fprintf(stderr, "%s: %s\n", prog, err);
			fmsg_verify_free(&v);
			return 1;
		}
	}
	fmsg_verify_finish(&v);
	ok = fmsg_verify_ok(&v);
	if (o->json) {
		report_verify_json(stdout, &v);
		fmsg_verify_print(stderr, &v);
	} else {
		fmsg_verify_print(stdout, &v);
	}
	fmsg_verify_free(&v);
	return ok ? 0 : 1;
}

/* A run's exit status once its report is out: 1 when standard output
 * lost it, 128+N when signal N stopped the run, else 0 or 1 by ok. */
static int run_status(int stopped, int ok)
{
	if (fflush(stdout) == EOF)
		return 1;
	if (stopped)
		return 128 + (stop_signal != 0 ? stop_signal : SIGINT);
	return ok ? 0 : 1;
}

/* --chat: a room of -n members. */
static int chat(const struct fcli_opts *o)
{
	static struct fchat_result r; /* a histogram: not on the stack */
	char err[ERR_LEN];
	int ok;

	check_nofile(o);
	if (fchat_run(o, &r, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	ok = fchat_ok(&r);
	if (o->json)
		fchat_report_json(stdout, o, &r, ok);
	fchat_report_human(o->json ? stderr : stdout, o, &r, ok);
	return run_status(r.interrupted, ok);
}

/* --merge: every interval of every log in one histogram. */
static int merge(const struct fcli_opts *o)
{
	static struct hist h; /* 144 KiB: not on the stack */
	char err[ERR_LEN];
	long n, intervals = 0;
	int i;

	for (i = 0; i < o->nmerge; i++) {
		n = hdrlog_read(o->merge[i], &h, err, sizeof(err));
		if (n == -1) {
			fprintf(stderr, "%s: --merge %s\n", prog, err);
			return 1;
		}
		intervals += n;
	}
	printf("flood: %d logs, %ld intervals merged\n", o->nmerge, intervals);
	if (hist_count(&h) == 0)
		printf("  no samples\n");
	report_latency(stdout, "latency (us)", &h);
	if (o->percentiles)
		report_percentiles(stdout, &h, 1.0);
	return fflush(stdout) == EOF ? 1 : 0;
}

/* An eng_interval_fn: one line of the --hdr-log. */
static void log_interval(double start, double length, const struct hist *h,
			 void *arg)
{
	struct hdrlog_writer *w = arg;

	/* A write error is reported when the log is closed. */
	(void)hdrlog_interval(w, start, length, h);
}

static double wall_clock(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Clients failed for want of progress: one line saying what the bounds
 * were, so that a server that stopped reading is not a mystery. */
static void timeouts_said(const struct fcli_opts *o, uint64_t n)
{
	unsigned slow = o->timeout_ms > ENG_SLOW_TIMEOUT_MS
				? o->timeout_ms
				: ENG_SLOW_TIMEOUT_MS;

	if (o->echo)
		fprintf(stderr,
			"%s: %llu client%s timed out: no progress (an echo "
			"reply within %u ms, a connect or the server's close "
			"within %u ms; --timeout)\n",
			prog, (unsigned long long)n, n == 1 ? "" : "s",
			o->timeout_ms, slow);
	else
		fprintf(stderr,
			"%s: %llu client%s timed out: no progress for %u ms (a "
			"connect, a send the server does not read, or the "
			"server's close; --timeout, at least %d ms)\n",
			prog, (unsigned long long)n, n == 1 ? "" : "s", slow,
			ENG_SLOW_TIMEOUT_MS);
}

static int run(const struct fcli_opts *o)
{
	/* About 580 KiB (four histograms): static, not on the stack. */
	static struct eng_result r;
	struct report_progress rp;
	struct hdrlog_writer log;
	struct eng_hooks hooks;
	char err[ERR_LEN], comment[FCLI_HOST_LEN + 64];
	int ok, rc;

	check_nofile(o);
	memset(&rp, 0, sizeof(rp));
	memset(&hooks, 0, sizeof(hooks));
	rp.fp = stderr;
	if (isatty(STDERR_FILENO)) {
		hooks.progress = report_progress;
		hooks.progress_arg = &rp;
	}
	if (o->hdr_log != NULL) {
		snprintf(comment, sizeof(comment),
			 "flood round trips (us) to %s port %u", o->host,
			 o->port);
		if (hdrlog_open(&log, o->hdr_log, wall_clock(), comment, err,
				sizeof(err)) == -1) {
			fprintf(stderr, "%s: %s\n", prog, err);
			return 1;
		}
		hooks.interval = log_interval;
		hooks.interval_arg = &log;
	}
	rc = eng_run(o, &r, &hooks, err, sizeof(err));
	report_progress_end(&rp);
	if (o->hdr_log != NULL && hdrlog_close(&log) == -1) {
		fprintf(stderr, "%s: --hdr-log %s: %s\n", prog, o->hdr_log,
			strerror(errno));
		if (rc == 0)
			return 1;
	}
	if (rc == -1) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	if (r.err_timeout > 0)
		timeouts_said(o, r.err_timeout);
	ok = eng_ok(o, &r);
	if (o->json)
		report_json(stdout, o, &r, ok);
	else if (o->csv)
		report_csv(stdout, o, &r);
	report_human(o->json || o->csv ? stderr : stdout, o, &r, ok);
	if (o->percentiles)
		report_percentiles(o->json || o->csv ? stderr : stdout,
				   &r.rtt_us, 1.0);
	return run_status(r.stopped, ok);
}

/* The run, the log check or the merge: its exit status. */
static int run_mode(const struct fcli_opts *o)
{
	if (o->verify_log != NULL)
		return verify(o);
	if (o->merge != NULL)
		return merge(o);
	if (o->chat)
		return chat(o);
	return run(o);
}

int main(int argc, char *argv[])
{
	struct fcli_opts o;
	char err[ERR_LEN];
	int rc;

	prog = cli_program_name(argv[0], "flood");
	switch (fcli_parse(&o, argc, argv, err, sizeof(err))) {
	case CLI_HELP:
		fcli_usage(stdout, prog);
		return cli_close_output(stdout, prog, stderr);
	case CLI_VERSION:
		cli_version(stdout, prog);
		return cli_close_output(stdout, prog, stderr);
	case CLI_ERROR:
		fprintf(stderr, "%s: %s\n", prog, err);
		return 2;
	default:
		break;
	}
	if (setup_signals() == -1) {
		fprintf(stderr, "%s: sigaction: %s\n", prog, strerror(errno));
		return 1;
	}
	rc = run_mode(&o);
	/* A report that could not be written is a failed run. */
	if (cli_close_output(stdout, prog, stderr) != 0 && rc == 0)
		rc = 1;
	return rc;
}
