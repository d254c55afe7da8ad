/*
 * report.c - see report.h.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
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

static void human_latency(FILE *fp, const char *what, const struct hist *h)
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

struct error_kind {
	const char *name;
	uint64_t count;
};

static void human_errors(FILE *fp, const struct eng_result *r)
{
	const struct error_kind kinds[] = {
		{"bad reply", r->err_bad_reply},
		{"timeout", r->err_timeout},
		{"closed early", r->err_early_close},
		{"refused by server", r->err_refused},
		{"io error", r->err_io},
		{"udp reply lost", r->udp_lost},
		{"max-time reached", r->err_max_time},
		{"interrupted", r->err_interrupted},
	};
	const char *sep = "";
	size_t i;

	fprintf(fp, "  %-16s ", "errors");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (kinds[i].count == 0)
			continue;
		fprintf(fp, "%s%s x%" PRIu64, sep, kinds[i].name,
			kinds[i].count);
		sep = ", ";
	}
	fprintf(fp, "%s\n", sep[0] == '\0' ? "none" : "");
}

void report_human(FILE *fp, const struct fcli_opts *o,
		  const struct eng_result *r, int ok)
{
	fprintf(fp,
		"flood: %s %s to %s port %u, %" PRIu32
		" clients, %u threads, %zu-byte messages\n",
		o->udp ? "udp" : "tcp", mode_name(o), o->host, o->port,
		o->clients, o->threads, o->size);
	fprintf(fp, "  %-16s %.3f s\n", "elapsed", r->elapsed);
	fprintf(fp, "  %-16s %" PRIu64 " opened, %" PRIu64 " failed",
		"connections", r->conn_opened, r->conn_failed);
	if (o->hold > 0)
		fprintf(fp, ", %" PRIu64 " held", r->conn_held);
	fputc('\n', fp);
	human_failures(fp, r);
	fprintf(fp, "  %-16s %" PRIu64 " sent, %" PRIu64 " answered\n",
		"messages", r->msgs_sent, r->msgs_answered);
	fprintf(fp, "  %-16s %" PRIu64 " sent, %" PRIu64 " received\n", "bytes",
		r->bytes_sent, r->bytes_received);
	fprintf(fp, "  %-16s %.1f messages/s, %.2f MB/s sent (MB = 10^6)\n",
		"throughput", per_second(done_msgs(o, r), r->elapsed),
		per_second(r->bytes_sent, r->elapsed) / 1e6);
	human_latency(fp, "connect (us)", &r->connect_us);
	human_latency(fp, "round trip (us)", &r->rtt_us);
	human_latency(fp, "first reply (us)", &r->first_reply_us);
	human_errors(fp, r);
	if (o->udp && o->echo)
		fprintf(fp, "  %-16s %" PRIu64 " lost, %" PRIu64 " late\n",
			"udp replies", r->udp_lost, r->udp_late);
	fprintf(fp, "  %-16s %s\n", "result", ok ? "OK" : "FAILED");
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
	/* The host is a numeric address: nothing to escape either. */
	fprintf(fp,
		"{\"ok\":%s,\"mode\":\"%s\",\"transport\":\"%s\","
		"\"host\":\"%s\",\"port\":%u,\"clients\":%" PRIu32
		",\"threads\":%u,\"message_size\":%zu,\"elapsed_s\":%.6f,",
		ok ? "true" : "false", mode_name(o), o->udp ? "udp" : "tcp",
		o->host, o->port, o->clients, o->threads, o->size, r->elapsed);
	fprintf(fp,
		"\"connections_opened\":%" PRIu64
		",\"connections_failed\":%" PRIu64
		",\"connections_held\":%" PRIu64
		",\"refused_by_server\":%" PRIu64 ",",
		r->conn_opened, r->conn_failed, r->conn_held, r->err_refused);
	json_errno(fp, r);
	fprintf(fp,
		"\"messages_sent\":%" PRIu64 ",\"messages_answered\":%" PRIu64
		",\"bytes_sent\":%" PRIu64 ",\"bytes_received\":%" PRIu64
		",\"messages_per_s\":%.1f,\"mb_per_s\":%.3f,"
		"\"udp_replies_lost\":%" PRIu64 ",\"udp_replies_late\":%" PRIu64
		",",
		r->msgs_sent, r->msgs_answered, r->bytes_sent,
		r->bytes_received, per_second(done_msgs(o, r), r->elapsed),
		per_second(r->bytes_sent, r->elapsed) / 1e6, r->udp_lost,
		r->udp_late);
	fprintf(fp,
		"\"errors\":{\"bad_reply\":%" PRIu64 ",\"timeout\":%" PRIu64
		",\"early_close\":%" PRIu64 ",\"refused_by_server\":%" PRIu64
		",\"udp_lost\":%" PRIu64 ",\"max_time\":%" PRIu64
		",\"interrupted\":%" PRIu64 ",\"io_error\":%" PRIu64 "},",
		r->err_bad_reply, r->err_timeout, r->err_early_close,
		r->err_refused, r->udp_lost, r->err_max_time,
		r->err_interrupted, r->err_io);
	json_latency(fp, "connect_us", &r->connect_us);
	fputc(',', fp);
	json_latency(fp, "rtt_us", &r->rtt_us);
	fputc(',', fp);
	json_latency(fp, "first_reply_us", &r->first_reply_us);
	fputs("}\n", fp);
}

void report_verify_json(FILE *fp, const struct fmsg_verify *v)
{
	fprintf(fp,
		"{\"ok\":%s,\"lines\":%" PRIu64 ",\"expected\":%" PRIu64
		",\"found\":%" PRIu64 ",\"missing\":%" PRIu64
		",\"duplicated\":%" PRIu64 ",\"corrupted\":%" PRIu64
		",\"holes\":%" PRIu64 ",\"tail_missing\":%" PRIu64 "}\n",
		fmsg_verify_ok(v) ? "true" : "false", v->lines, v->expected,
		v->found, v->missing, v->duplicated, v->corrupted, v->holes,
		v->tail_missing);
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
