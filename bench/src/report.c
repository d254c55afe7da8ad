/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * report.c - see report.h.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

struct errno_name {
	int value;
	const char *name;
};

/* The errors a network client can meet; anything else prints as a
 * number (strerrorname_np() would do, but is a GNU extension). */
static const struct errno_name errno_names[] = {
	{ECONNREFUSED, "ECONNREFUSED"},
	{ECONNRESET, "ECONNRESET"},
	{ETIMEDOUT, "ETIMEDOUT"},
	{EPIPE, "EPIPE"},
	{EMFILE, "EMFILE"},
	{ENFILE, "ENFILE"},
	{EADDRNOTAVAIL, "EADDRNOTAVAIL"},
	{EADDRINUSE, "EADDRINUSE"},
	{ENETUNREACH, "ENETUNREACH"},
	{EHOSTUNREACH, "EHOSTUNREACH"},
	{ECONNABORTED, "ECONNABORTED"},
	{ENOBUFS, "ENOBUFS"},
	{ENOMEM, "ENOMEM"},
	{EACCES, "EACCES"},
	{EPERM, "EPERM"},
	{EINVAL, "EINVAL"},
	{EAFNOSUPPORT, "EAFNOSUPPORT"},
	{ENOTCONN, "ENOTCONN"},
	{EMSGSIZE, "EMSGSIZE"},
	{ENETDOWN, "ENETDOWN"},
	{EHOSTDOWN, "EHOSTDOWN"},
	{EPROTO, "EPROTO"},
	{EBADF, "EBADF"},
	{EINTR, "EINTR"},
};

const char *report_errno_name(int err, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++) {
		if (errno_names[i].value == err)
			return errno_names[i].name;
	}
	snprintf(buf, len, "errno %d", err);
	return buf;
}

static const char *mode_name(const struct fcli_opts *o)
{
	if (o->hold > 0)
		return "hold";
	if (o->churn)
		return o->echo ? "churn-echo" : "churn";
	return o->echo ? "echo" : "one-way";
}

static double per_second(uint64_t n, double elapsed)
{
	return elapsed > 0 ? (double)n / elapsed : 0.0;
}

/* Messages that count for the rate: answered in echo mode. */
static uint64_t done_msgs(const struct fcli_opts *o, const struct eng_result *r)
{
	return o->echo ? r->msgs_answered : r->msgs_sent;
}

void report_latency(FILE *fp, const char *what, const struct hist *h)
{
	if (hist_count(h) == 0)
		return;
	fprintf(fp,
		"  %-16s p50 %" PRIu64 "  p90 %" PRIu64 "  p99 %" PRIu64
		"  p99.9 %" PRIu64 "  max %" PRIu64 "  (n=%" PRIu64 ")\n",
		what, hist_percentile(h, 50), hist_percentile(h, 90),
		hist_percentile(h, 99), hist_percentile(h, 99.9), hist_max(h),
		hist_count(h));
}

static void human_failures(FILE *fp, const struct eng_result *r)
{
	char buf[32];
	const char *sep = "";
	int i;

	if (r->conn_failed == 0)
		return;
	fprintf(fp, "  %-16s ", "failed");
	for (i = 0; i < ENG_ERRNO_SLOTS; i++) {
		if (r->err_errno[i] == 0)
			continue;
		fprintf(fp, "%s%s x%" PRIu64, sep,
			report_errno_name(i, buf, sizeof(buf)),
			r->err_errno[i]);
		sep = ", ";
	}
	if (r->err_refused > 0) {
		fprintf(fp, "%srefused by server x%" PRIu64, sep,
			r->err_refused);
		sep = ", ";
	}
	if (r->err_early_close > 0)
		fprintf(fp, "%sclosed early x%" PRIu64, sep,
			r->err_early_close);
	fputc('\n', fp);
}

static void human_errors(FILE *fp, const struct eng_result *r)
{
	const char *sep = "";

	fprintf(fp, "  %-16s ", "errors");
#define ERROR(field, key, label)                                               \
	if (r->field != 0) {                                                   \
		fprintf(fp, "%s%s x%" PRIu64, sep, label, r->field);           \
		sep = ", ";                                                    \
	}
	ENG_ERRORS(ERROR)
#undef ERROR
	fprintf(fp, "%s\n", sep[0] == '\0' ? "none" : "");
}

/* "OK", "FAILED", or "interrupted" for a run a signal stopped: what it
 * measured until then is real, its unfinished work is not a failure. */
static const char *verdict(const struct eng_result *r, int ok)
{
	if (r->stopped)
		return "interrupted";
	return ok ? "OK" : "FAILED";
}

/* With --rate, which latency rtt_us is. */
static int corrected(const struct fcli_opts *o)
{
	return o->rate > 0 && !o->no_correction;
}

void report_human(FILE *fp, const struct fcli_opts *o,
		  const struct eng_result *r, int ok)
{
	fprintf(fp, "flood: %s %s to ", o->udp ? "udp" : "tcp", mode_name(o));
	report_servers(fp, o, r->address);
	fprintf(fp, ", %" PRIu32 " clients, %u threads, %zu-byte messages",
		o->clients, o->threads, o->size);
	if (o->pipeline > 1)
		fprintf(fp, ", %u in flight", o->pipeline);
	fputc('\n', fp);
	fprintf(fp, "  %-16s %.3f s\n", "elapsed", r->elapsed);
	fprintf(fp, "  %-16s %" PRIu64 " opened, %" PRIu64 " failed",
		"connections", r->conn_opened, r->conn_failed);
	if (o->hold > 0)
		fprintf(fp, ", %" PRIu64 " held", r->conn_held);
	fputc('\n', fp);
	if (o->reconnect > 0)
		fprintf(fp,
			"  %-16s %" PRIu64 "; %" PRIu64
			" messages in doubt (written on connections the server "
			"ended: logged or lost; --verify-log tells)\n",
			"reconnects", r->reconnects, r->msgs_in_doubt);
	human_failures(fp, r);
	fprintf(fp, "  %-16s %" PRIu64 " sent, %" PRIu64 " answered\n",
		"messages", r->msgs_sent, r->msgs_answered);
	fprintf(fp, "  %-16s %" PRIu64 " sent, %" PRIu64 " received\n", "bytes",
		r->bytes_sent, r->bytes_received);
	fprintf(fp, "  %-16s %.1f messages/s, %.2f MB/s sent (MB = 10^6)\n",
		"throughput", per_second(done_msgs(o, r), r->elapsed),
		per_second(r->bytes_sent, r->elapsed) / 1e6);
	report_latency(fp, "connect (us)", &r->connect_us);
	report_latency(fp,
		       corrected(o) ? "round trip (us)*" : "round trip (us)",
		       &r->rtt_us);
	if (o->rate > 0)
		report_latency(fp, "service (us)", &r->service_us);
	report_latency(fp, "first reply (us)", &r->first_reply_us);
	if (corrected(o) && hist_count(&r->rtt_us) > 0)
		fprintf(fp,
			"  %-16s * from each message's slot in the --rate "
			"schedule (coordinated\n"
			"  %-16s   omission corrected); service: from its "
			"send\n",
			"", "");
	human_errors(fp, r);
	if (o->udp && o->echo)
		fprintf(fp, "  %-16s %" PRIu64 " lost, %" PRIu64 " late\n",
			"udp replies", r->udp_lost, r->udp_late);
	fprintf(fp, "  %-16s %s\n", "result", verdict(r, ok));
}

/* s as a JSON string: quotes, backslashes and control bytes escaped. */
static void json_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(fp, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(fp, "\\u%04x", ch);
		else
			fputc(ch, fp);
	}
	fputc('"', fp);
}

void report_servers(FILE *fp, const struct fcli_opts *o, const char *address)
{
	if (o->nhosts > 1) {
		fprintf(fp, "%u servers (", o->nhosts);
		report_host_list(fp, o);
		fputc(')', fp);
	} else if (address != NULL) {
		fprintf(fp, "%s (%s)", o->host, address);
	} else {
		fprintf(fp, "%s port %u", o->host, o->port);
	}
}

void report_host_list(FILE *fp, const struct fcli_opts *o)
{
	for (unsigned i = 0; i < o->nhosts; i++) {
		const struct fcli_host *h = &o->hosts[i];

		fprintf(fp,
			strchr(h->host, ':') != NULL ? "%s[%s]:%u" : "%s%s:%u",
			i > 0 ? "," : "", h->host, h->port);
	}
}

void report_json_hosts(FILE *fp, const struct fcli_opts *o)
{
	char buf[FCLI_HOST_LEN + 16];

	fputs("\"hosts\":[", fp);
	for (unsigned i = 0; i < o->nhosts; i++) {
		const struct fcli_host *h = &o->hosts[i];

		snprintf(buf, sizeof(buf),
			 strchr(h->host, ':') != NULL ? "[%s]:%u" : "%s:%u",
			 h->host, h->port);
		if (i > 0)
			fputc(',', fp);
		json_string(fp, buf);
	}
	fputc(']', fp);
}

static void json_latency(FILE *fp, const char *key, const struct hist *h)
{
	fprintf(fp,
		"\"%s\":{\"count\":%" PRIu64 ",\"min\":%" PRIu64
		",\"mean\":%.1f,\"p50\":%" PRIu64 ",\"p90\":%" PRIu64
		",\"p99\":%" PRIu64 ",\"p99_9\":%" PRIu64 ",\"max\":%" PRIu64
		"}",
		key, hist_count(h), hist_min(h), hist_mean(h),
		hist_percentile(h, 50), hist_percentile(h, 90),
		hist_percentile(h, 99), hist_percentile(h, 99.9), hist_max(h));
}

static void json_errno(FILE *fp, const struct eng_result *r)
{
	char buf[32];
	const char *sep = "";
	int i;

	fputs("\"failed_by_errno\":{", fp);
	for (i = 0; i < ENG_ERRNO_SLOTS; i++) {
		if (r->err_errno[i] == 0)
			continue;
		/* Names are [A-Z0-9 ]: nothing to escape. */
		fprintf(fp, "%s\"%s\":%" PRIu64, sep,
			report_errno_name(i, buf, sizeof(buf)),
			r->err_errno[i]);
		sep = ",";
	}
	fputs("},", fp);
}

void report_json(FILE *fp, const struct fcli_opts *o,
		 const struct eng_result *r, int ok)
{
	const char *sep;

	/* host is the user's argument: escaped.  address is numeric. */
	fprintf(fp,
		"{\"ok\":%s,\"interrupted\":%s,\"mode\":\"%s\","
		"\"transport\":\"%s\",\"host\":",
		ok ? "true" : "false", r->stopped ? "true" : "false",
		mode_name(o), o->udp ? "udp" : "tcp");
	json_string(fp, o->host);
	fprintf(fp, ",\"address\":\"%s\",\"port\":%u,", r->address, o->port);
	report_json_hosts(fp, o);
	fprintf(fp,
		",\"clients\":%" PRIu32
		",\"threads\":%u,\"message_size\":%zu,\"pipeline\":%u,"
		"\"corrected\":%s,\"started_unix_us\":%" PRId64
		",\"elapsed_s\":%.6f,",
		o->clients, o->threads, o->size, o->pipeline,
		corrected(o) ? "true" : "false", r->started_unix_us,
		r->elapsed);
#define COUNT(field, key) fprintf(fp, "\"%s\":%" PRIu64 ",", key, r->field);
	ENG_COUNTS(COUNT)
#undef COUNT
	fprintf(fp, "\"refused_by_server\":%" PRIu64 ",", r->err_refused);
	json_errno(fp, r);
	fprintf(fp,
		"\"messages_per_s\":%.1f,\"mb_per_s\":%.3f,"
		"\"udp_replies_lost\":%" PRIu64 ",\"errors\":{",
		per_second(done_msgs(o, r), r->elapsed),
		per_second(r->bytes_sent, r->elapsed) / 1e6, r->udp_lost);
	sep = "";
#define ERROR(field, key, label)                                               \
	fprintf(fp, "%s\"%s\":%" PRIu64, sep, key, r->field);                  \
	sep = ",";
	ENG_ERRORS(ERROR)
#undef ERROR
	fputc('}', fp);
#define LATENCY(field, key, label)                                             \
	fputc(',', fp);                                                        \
	json_latency(fp, key, &r->field);
	ENG_LATENCIES(LATENCY)
#undef LATENCY
	fputs("}\n", fp);
}

/* redis-benchmark --csv (Redis 7): a header and one row, every field
 * quoted, latencies in milliseconds.  The test name is flood's mode. */
void report_csv(FILE *fp, const struct fcli_opts *o, const struct eng_result *r)
{
	const struct hist *h = &r->rtt_us;
	char name[32];
	size_t i;

	snprintf(name, sizeof(name), "%s %s", o->udp ? "UDP" : "TCP",
		 mode_name(o));
	for (i = 0; name[i] != '\0'; i++)
		if (name[i] >= 'a' && name[i] <= 'z')
			name[i] = (char)(name[i] - 'a' + 'A');
	fputs("\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\","
	      "\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\","
	      "\"max_latency_ms\"\n",
	      fp);
	fprintf(fp, "\"%s\",\"%.2f\"", name,
		per_second(done_msgs(o, r), r->elapsed));
	if (hist_count(h) == 0) {
		fputs(",\"\",\"\",\"\",\"\",\"\",\"\"\n", fp);
		return;
	}
	fprintf(fp, ",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\"\n",
		hist_mean(h) / 1000, (double)hist_min(h) / 1000,
		(double)hist_percentile(h, 50) / 1000,
		(double)hist_percentile(h, 95) / 1000,
		(double)hist_percentile(h, 99) / 1000,
		(double)hist_max(h) / 1000);
}

/* The level after level: HdrHistogram's PercentileIterator takes
 * ticks_per_half steps for each halving of the distance to 100%. */
static double next_level(double level, unsigned ticks_per_half)
{
	double halvings = floor(log(100.0 / (100.0 - level)) / log(2.0));

	return level + 100.0 / (ticks_per_half * pow(2.0, halvings + 1));
}

/* HdrHistogram's outputPercentileDistribution() with 5 ticks per half
 * distance: the same rows (the value reached at each percentile level,
 * then one last row at 100%) and the same footer, values divided by
 * scale. */
void report_percentiles(FILE *fp, const struct hist *h, double scale)
{
	uint64_t total = hist_count(h), cum = 0;
	double level = 0, mean = hist_mean(h), sq = 0, d;
	unsigned i, at = 0;
	int fresh = 1, last = 0;

	fprintf(fp, "%12s %14s %10s %14s\n\n", "Value", "Percentile",
		"TotalCount", "1/(1-Percentile)");
	for (i = 0; i < HIST_BUCKETS; i++) {
		if (h->counts[i] == 0)
			continue;
		/* HdrHistogram's medianEquivalentValue. */
		d = (double)(hist_index_low(i) +
			     ((hist_index_high(i) - hist_index_low(i) + 1) >>
			      1)) -
		    mean;
		sq += d * d * (double)h->counts[i];
	}
	while (total > 0) {
		if (cum >= total) { /* one more row, at 100% */
			if (last)
				break;
			level = 100.0;
			last = 1;
		}
		for (; at < HIST_BUCKETS; at++, fresh = 1) {
			if (fresh)
				cum += h->counts[at];
			fresh = 0;
			if (h->counts[at] != 0 &&
			    100.0 * (double)cum / (double)total >= level)
				break;
		}
		if (at == HIST_BUCKETS)
			break;
		fprintf(fp, "%12.3f %2.12f %10" PRIu64,
			(double)hist_index_high(at) / scale, level / 100.0,
			cum);
		if (level < 100.0)
			fprintf(fp, " %14.2f\n", 1.0 / (1.0 - level / 100.0));
		else
			fputc('\n', fp);
		level = next_level(level, 5);
	}
	fprintf(fp,
		"#[Mean    = %12.3f, StdDeviation   = %12.3f]\n"
		"#[Max     = %12.3f, Total count    = %12" PRIu64 "]\n"
		"#[Buckets = %12u, SubBuckets     = %12u]\n",
		mean / scale,
		total > 0 ? sqrt(sq / (double)total) / scale : 0.0,
		total > 0
			? (double)hist_index_high(hist_index_of(hist_max(h))) /
				  scale
			: 0.0,
		total, HIST_BUCKET_COUNT, HIST_SUB_COUNT);
}

void report_verify_json(FILE *fp, const struct fmsg_verify *v)
{
	fprintf(fp,
		"{\"ok\":%s,\"lines\":%" PRIu64 ",\"expected\":%" PRIu64
		",\"found\":%" PRIu64 ",\"missing\":%" PRIu64
		",\"duplicated\":%" PRIu64 ",\"corrupted\":%" PRIu64
		",\"torn\":%" PRIu64 ",\"holes\":%" PRIu64
		",\"tail_missing\":%" PRIu64 ",",
		fmsg_verify_ok(v) ? "true" : "false", v->lines, v->expected,
		v->found, v->missing, v->duplicated, v->corrupted, v->torn,
		v->holes, v->tail_missing);
	json_latency(fp, "first_logged_us", v->first_logged_us);
	fputs(",\"files\":[", fp);
	for (unsigned i = 0; i < v->nfiles; i++) {
		const struct fmsg_file *f = &v->files[i];

		fputs(i > 0 ? ",{\"path\":" : "{\"path\":", fp);
		json_string(fp, f->path);
		fprintf(fp,
			",\"lines\":%" PRIu64 ",\"found\":%" PRIu64
			",\"duplicated\":%" PRIu64 ",\"corrupted\":%" PRIu64
			"}",
			f->lines, f->found, f->duplicated, f->corrupted);
	}
	fputs("]}\n", fp);
}

void report_progress(const struct eng_progress *p, void *arg)
{
	struct report_progress *rp = arg;
	double dt = p->elapsed - rp->last_elapsed;
	double rate = dt > 0 ? (double)(p->msgs - rp->last_msgs) / dt : 0;

	/* "\033[K" clears what a longer previous line left behind. */
	fprintf(rp->fp,
		"\r%7.1f s  %" PRIu64 " connections  %" PRIu64
		" messages  %.0f msg/s\033[K",
		p->elapsed, p->conn_open, p->msgs, rate);
	fflush(rp->fp);
	rp->last_elapsed = p->elapsed;
	rp->last_msgs = p->msgs;
	rp->shown = 1;
}

void report_progress_end(struct report_progress *rp)
{
	if (!rp->shown)
		return;
	fputs("\r\033[K", rp->fp);
	fflush(rp->fp);
	rp->shown = 0;
}
