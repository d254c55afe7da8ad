/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * report.h - flood's output: the human report, the JSON object and the
 * progress line.
 *
 * Nothing here allocates or keeps hidden state; output goes to the
 * caller's FILE.  Threads: the caller's (main) thread; the progress
 * callback runs there too (eng_run() calls it from its own thread).
 * Output errors are the stdio stream's (ferror), not reported here.
 */
#ifndef FLOOD_REPORT_H
#define FLOOD_REPORT_H

#include "engine.h"
#include "fcli.h"
#include "fmsg.h"

#include <stddef.h>
#include <stdio.h>

/* "ECONNREFUSED" and friends; unknown values as "errno 123" in buf.
 * Returns a static string or buf. */
const char *report_errno_name(int err, char *buf, size_t len);

/* The servers as "HOST:PORT,..." ("[IPv6]:PORT"), as --hosts takes
 * them. */
void report_host_list(FILE *fp, const struct fcli_opts *o);

/* Who the run talked to, for the first line of a report: "HOST
 * (ADDRESS)", "HOST port PORT" when address is NULL, or "N servers
 * (HOST:PORT,...)" with --hosts. */
void report_servers(FILE *fp, const struct fcli_opts *o, const char *address);

/* The same as a JSON member: "hosts":["HOST:PORT",...], the names
 * escaped (they are the user's). */
void report_json_hosts(FILE *fp, const struct fcli_opts *o);

/* The report for people.  ok is eng_ok()'s verdict. */
void report_human(FILE *fp, const struct fcli_opts *o,
		  const struct eng_result *r, int ok);

/* The same figures as one JSON object on one line (keys: see
 * fcli_usage()). */
void report_json(FILE *fp, const struct fcli_opts *o,
		 const struct eng_result *r, int ok);

/* One line: "  WHAT  p50 ..  p90 ..  p99 ..  p99.9 ..  max ..  (n=..)";
 * nothing for an empty histogram. */
void report_latency(FILE *fp, const char *what, const struct hist *h);

/* redis-benchmark's --csv: a header line and one row. */
void report_csv(FILE *fp, const struct fcli_opts *o,
		const struct eng_result *r);

/* h's full distribution as HdrHistogram's percentile output prints it
 * (values divided by scale). */
void report_percentiles(FILE *fp, const struct hist *h, double scale);

/* --verify-log --json: expected, found, missing, duplicated, corrupted,
 * holes, tail_missing, lines, ok, and files (each file's path, lines,
 * found, duplicated, corrupted). */
void report_verify_json(FILE *fp, const struct fmsg_verify *v);

/* State of the progress line; zero it before the run. */
struct report_progress {
	FILE *fp;
	double last_elapsed;
	uint64_t last_msgs;
	int shown; /* something is on the line */
};

/* An eng_progress_fn: arg is a struct report_progress.  Rewrites one
 * line with '\r'. */
void report_progress(const struct eng_progress *p, void *arg);

/* Clears the progress line, if one was shown. */
void report_progress_end(struct report_progress *rp);

#endif
