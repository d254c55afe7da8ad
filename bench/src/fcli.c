/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fcli.c - see fcli.h.
 *
 * Parsing happens in two steps: parse_option() converts one option at a
 * time and checks its own range, then check_combination() looks at the
 * whole set (modes that exclude each other, -s against the longest
 * header).  Each check produces one message naming the option.
 */
#include "fcli.h"
#include "cli.h"
#include "fmsg.h"
#include "net.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Long-only options get codes above any char. */
enum {
	OPT_RATE = 256,
	OPT_THINK,
	OPT_RAMP,
	OPT_ECHO,
	OPT_REPLY_ANY,
	OPT_PAYLOAD,
	OPT_CHURN,
	OPT_OCTET_COUNT,
	OPT_UDP,
	OPT_TIMEOUT,
	OPT_HOLD,
	OPT_JSON,
	OPT_MAX_TIME,
	OPT_VERIFY,
	OPT_ALLOW_TAIL,
	OPT_NO_CORRECTION,
	OPT_CSV,
	OPT_PERCENTILES,
	OPT_HDR_LOG,
	OPT_MERGE,
	OPT_RUN_START,
	OPT_CHAT,
	OPT_DEAF,
	OPT_HOSTS,
	OPT_RECONNECT,
	OPT_FIRST_CLIENT,
};

static const struct option long_options[] = {
	{"clients", required_argument, NULL, 'n'},
	{"host", required_argument, NULL, 'H'},
	{"port", required_argument, NULL, 'p'},
	{"hosts", required_argument, NULL, OPT_HOSTS},
	{"reconnect", required_argument, NULL, OPT_RECONNECT},
	{"first-client", required_argument, NULL, OPT_FIRST_CLIENT},
	{"messages", required_argument, NULL, 'm'},
	{"duration", required_argument, NULL, 'd'},
	{"size", required_argument, NULL, 's'},
	{"threads", required_argument, NULL, 't'},
	{"rate", required_argument, NULL, OPT_RATE},
	{"think", required_argument, NULL, OPT_THINK},
	{"ramp", required_argument, NULL, OPT_RAMP},
	{"echo", no_argument, NULL, OPT_ECHO},
	{"reply-any-line", no_argument, NULL, OPT_REPLY_ANY},
	{"payload", required_argument, NULL, OPT_PAYLOAD},
	{"churn", no_argument, NULL, OPT_CHURN},
	{"octet-count", no_argument, NULL, OPT_OCTET_COUNT},
	{"udp", no_argument, NULL, OPT_UDP},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"hold", required_argument, NULL, OPT_HOLD},
	{"json", no_argument, NULL, OPT_JSON},
	{"max-time", required_argument, NULL, OPT_MAX_TIME},
	{"verify-log", required_argument, NULL, OPT_VERIFY},
	{"allow-missing-tail", no_argument, NULL, OPT_ALLOW_TAIL},
	{"pipeline", required_argument, NULL, 'P'},
	{"no-correction", no_argument, NULL, OPT_NO_CORRECTION},
	{"csv", no_argument, NULL, OPT_CSV},
	{"percentiles", no_argument, NULL, OPT_PERCENTILES},
	{"hdr-log", required_argument, NULL, OPT_HDR_LOG},
	{"merge", no_argument, NULL, OPT_MERGE},
	{"run-start", required_argument, NULL, OPT_RUN_START},
	{"chat", no_argument, NULL, OPT_CHAT},
	{"deaf", required_argument, NULL, OPT_DEAF},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

/* '+': stop at the first operand instead of permuting argv (which would
 * write to the caller's array); ':': report a missing value as ':'. */
static const char short_options[] = "+:n:H:p:m:d:s:t:P:hV";

/* Which options were given, for the combination checks. */
struct seen {
	int clients, messages, duration, size, rate, think, ramp, hold,
		pipeline, host, port, hosts;
	int run_options; /* options other than --merge and --percentiles */
};

void fcli_usage(FILE *fp, const char *prog)
{
	fprintf(fp,
		"Usage: %s [OPTIONS]            load generator for line "
		"servers\n"
		"  or:  %s --verify-log FILE... -n N -m M [-s S] "
		"[--allow-missing-tail]\n"
		"  or:  %s --merge FILE.hlog... [--percentiles]\n\n",
		prog, prog, prog);
	fputs("  -n, --clients N     concurrent TCP connections or UDP sockets "
	      "(1)\n"
	      "  -H, --host HOST     server name or address (127.0.0.1); a "
	      "name's\n"
	      "                      addresses are tried in turn\n"
	      "  -p, --port PORT     server port (8888)\n"
	      "      --hosts HOST:PORT,...  several servers (at most 16; "
	      "[IPv6]:PORT):\n"
	      "                      client or member i talks to the (i mod "
	      "N)th\n"
	      "                      (round robin); instead of -H and -p\n"
	      "  -m, --messages M    messages per client (1000)\n"
	      "  -d, --duration S    run for S seconds instead of -m "
	      "(fractions ok)\n"
	      "  -s, --size BYTES    message size including the '\\n' (32)\n"
	      "  -t, --threads T     event-loop threads (online CPUs)\n"
	      "      --rate R        total messages per second over all "
	      "clients\n"
	      "      --think MS      pause between one client's messages\n"
	      "      --ramp S        spread the connects over S seconds\n"
	      "      --echo          wait for each message's echo, check it, "
	      "time it\n"
	      "  -P, --pipeline N    with --echo over TCP: N messages in "
	      "flight (1)\n"
	      "      --reply-any-line  with --echo: any line is a good reply\n"
	      "      --no-correction with --rate: time each message from its "
	      "send,\n"
	      "                      not from its slot in the schedule\n"
	      "      --payload TEXT  send TEXT (plus '\\n') as every message\n"
	      "      --churn         connect, send one message, close, repeat\n"
	      "      --octet-count   frame each message as RFC 6587's 'LEN SP MSG'\n"
	      "                      (MSG without its '\\n'; mtserver --framing octet)\n"
	      "      --udp           one datagram per message\n"
	      "      --chat          a chat room (mtserver --chat, ncat "
	      "--chat): "
	      "-n members each\n"
	      "                      send -m messages; every member must get "
	      "every other's\n"
	      "                      exactly once, in order; JSON: hosts, "
	      "members,\n"
	      "                      deliveries, deliveries_per_s, "
	      "delivery_us, missing,\n"
	      "                      duplicated, out_of_order, unexpected, "
	      "ok\n"
	      "      --deaf N        with --chat: N more members that never "
	      "read\n"
	      "      --reconnect N   one-way TCP: a connection the server ends "
	      "while messages\n"
	      "                      are left is replaced, N times at most "
	      "per client; it\n"
	      "                      goes on after the last whole message "
	      "written (those\n"
	      "                      written on the ended one are in doubt: "
	      "logged or lost)\n"
	      "      --first-client K  number the clients K..K+n-1 in the "
	      "messages (0):\n"
	      "                      several floods against one fleet, one "
	      "--verify-log\n"
	      "      --timeout MS    a client making no progress for MS fails: "
	      "an echo reply;\n"
	      "                      a connect, a send the server does not "
	      "read, its close\n"
	      "                      wait at least 10 s (1000)\n"
	      "      --hold S        connect all clients, stay idle S seconds, "
	      "close\n"
	      "      --max-time S    stop and fail after S seconds in all "
	      "(600)\n"
	      "      --json          one JSON object on stdout, report on "
	      "stderr\n"
	      "      --csv           redis-benchmark's CSV on stdout, report "
	      "on "
	      "stderr\n"
	      "      --percentiles   also print the round trips' full "
	      "distribution\n"
	      "      --hdr-log FILE  with --echo: write the round trips as an "
	      "HdrHistogram\n"
	      "                      interval log (one histogram a second)\n"
	      "      --merge FILE... print the combined percentiles of "
	      "HdrHistogram logs\n"
	      "      --verify-log FILE...  check an mtserver log for the "
	      "messages of\n"
	      "                      -n clients x -m messages (no network); "
	      "several files\n"
	      "                      (a rotated log, a fleet's logs): each "
	      "message in\n"
	      "                      exactly one of them\n"
	      "      --allow-missing-tail  with --verify-log: each client's "
	      "messages\n"
	      "                      need only be a prefix m0..mK-1\n"
	      "      --run-start US  with --verify-log: the run's "
	      "started_unix_us, from\n"
	      "                      which first_logged_us counts (default: "
	      "the log's\n"
	      "                      first connect)\n"
	      "  -h, --help          this text\n"
	      "  -V, --version       print the version\n"
	      "\n"
	      "Messages are \"c<client> m<seq> xxx...\\n\", so an mtserver log "
	      "can be\n"
	      "checked for loss, duplication and corruption with "
	      "--verify-log.\n"
	      "Exit status: 0 all sent (and answered), 1 something failed or "
	      "was\n"
	      "lost, 2 usage error, 128+N stopped by signal N (130: Ctrl-C).\n"
	      "\n"
	      "JSON keys (--json; a.b is key b inside object a):\n"
	      "  ok interrupted mode transport host address port hosts "
	      "clients\n"
	      "  threads message_size pipeline corrected started_unix_us elapsed_s\n"
	      "  connections_opened\n"
	      "  connections_failed connections_held clients_done "
	      "refused_by_server\n"
	      "  failed_by_errno.ERRNO_NAME messages_sent messages_answered "
	      "bytes_sent\n"
	      "  bytes_received messages_per_s mb_per_s udp_replies_lost "
	      "udp_replies_late\n"
	      "  reconnects messages_in_doubt\n"
	      "  errors.{bad_reply,timeout,early_close,refused_by_server,"
	      "io_error}\n"
	      "  errors.{udp_lost,max_time,interrupted}\n"
	      "  connect_us.{count,min,mean,p50,p90,p99,p99_9,max}\n"
	      "  rtt_us.{count,min,mean,p50,p90,p99,p99_9,max}\n"
	      "  service_us.{count,min,mean,p50,p90,p99,p99_9,max}\n"
	      "  first_reply_us.{count,min,mean,p50,p90,p99,p99_9,max}\n"
	      "\n"
	      "hosts: the servers, HOST:PORT each (one without --hosts).\n"
	      "address: the address used (HOST resolved; with --hosts, the "
	      "first's).\n"
	      "failed_by_errno: one key per errno name (ECONNREFUSED, "
	      "...).\n"
	      "rtt_us: per answered --echo message; with --rate, from its "
	      "slot in the\n"
	      "schedule when the server held it back\n"
	      "(corrected: true), else from its send.  service_us: from its "
	      "send, always.\n"
	      "first_reply_us: per --echo connection, from the start of its "
	      "connect() to\n"
	      "its first correct reply.  Latencies are HdrHistograms "
	      "(3 significant\n"
	      "digits) in microseconds.  started_unix_us: the run's start, "
	      "wall clock.\n"
	      "\n"
	      "--verify-log --json keys: ok lines expected found missing "
	      "duplicated\n"
	      "corrupted torn holes tail_missing first_logged_us.{count,min,"
	      "mean,p50,p90,\n"
	      "p99,p99_9,max} files[].{path,lines,found,duplicated,corrupted}."
	      "\n"
	      "files: per file, in order; a message in two files is "
	      "duplicated in the\n"
	      "second.  torn: files whose last line lacks its '\\n' "
	      "(a writer died\n"
	      "or is still writing; that line is not read, and the check "
	      "fails).\n"
	      "first_logged_us: per client whose m0 is logged, the time from "
	      "the run's start\n"
	      "(--run-start) to m0's log timestamp.\n\n" CLI_REPORT_BUGS "\n",
	      fp);
}

/* Whole-string finite decimal number in [min, max]; 0 or -1. */
static int parse_double(const char *s, double min, double max, double *out)
{
	double v;
	char *end;

	if ((s[0] < '0' || s[0] > '9') && s[0] != '.')
		return -1; /* no sign, no "inf", no "nan", no blanks */
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Any name: it is resolved (and rejected, if need be) when the run
 * starts; here only what no name or address can be is refused: empty,
 * too long, blanks or control characters.  s[0..len) into dst[0..size). */
static int parse_host(char *dst, size_t size, const char *s, size_t len)
{
	if (len == 0 || len >= size)
		return -1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return -1;
	memcpy(dst, s, len); /* length checked above */
	dst[len] = '\0';
	return 0;
}

/* One "HOST:PORT" or "[IPv6]:PORT" of --hosts, s[0..len).  A host with
 * a ':' needs its brackets, so that the port is never a guess. */
static int parse_host_port(struct fcli_host *h, const char *s, size_t len)
{
	const char *colon = NULL, *host = s, *end;
	char port[8];
	uint64_t u;

	for (end = s + len; end > s; end--)
		if (end[-1] == ':') {
			colon = end - 1;
			break;
		}
	if (colon == NULL || (size_t)(s + len - colon - 1) >= sizeof(port))
		return -1;
	end = colon;
	if (s[0] == '[') {
		if (end - s < 2 || end[-1] != ']')
			return -1;
		host = s + 1;
		end--;
	}
	if ((s[0] != '[' && memchr(host, ':', (size_t)(end - host)) != NULL) ||
	    memchr(host, '[', (size_t)(end - host)) != NULL ||
	    memchr(host, ']', (size_t)(end - host)) != NULL)
		return -1;
	memcpy(port, colon + 1, (size_t)(s + len - colon - 1));
	port[s + len - colon - 1] = '\0';
	if (cli_parse_u64(port, 1, 65535, &u) == -1)
		return -1;
	h->port = (uint16_t)u;
	return parse_host(h->host, sizeof(h->host), host, (size_t)(end - host));
}

/* --hosts HOST:PORT,...: 1..FCLI_HOSTS_MAX entries, none empty. */
static int parse_hosts(struct fcli_opts *o, const char *s)
{
	o->nhosts = 0;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma != NULL ? (size_t)(comma - s) : strlen(s);

		if (o->nhosts == FCLI_HOSTS_MAX ||
		    parse_host_port(&o->hosts[o->nhosts], s, len) == -1)
			return -1;
		o->nhosts++;
		if (comma == NULL)
			return 0;
		s = comma + 1;
	}
}

static void set_defaults(struct fcli_opts *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	o->clients = 1;
	strcpy(o->host, "127.0.0.1");
	o->pipeline = 1;
	o->port = 8888;
	o->messages = 1000;
	o->size = 32;
	o->max_time = 600;
	o->timeout_ms = 1000;
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > FCLI_THREADS_MAX)
		ncpu = FCLI_THREADS_MAX;
	o->threads = (unsigned)ncpu;
}

#define BAD(what) OPT_FAIL(err, errlen, "bad %s '%s'", what, optarg)

/* One --verify-log file: the option's value, or an operand after it
 * ("--verify-log a.log b.log c.log"); 0, or CLI_ERROR with err set. */
static int add_verify_file(struct fcli_opts *o, const char *path, char *err,
			   size_t errlen)
{
	if (path[0] == '\0')
		return OPT_FAIL(err, errlen,
				"bad --verify-log (a file name) "
				"''");
	if (o->nverify == FCLI_VERIFY_MAX)
		return OPT_FAIL(err, errlen,
				"bad --verify-log (at most %d files) '%s'",
				FCLI_VERIFY_MAX, path);
	o->verify_logs[o->nverify++] = path;
	o->verify_log = o->verify_logs[0];
	return 0;
}

/* Converts one option; 0, or CLI_ERROR with err set. */
static int parse_option(struct fcli_opts *o, struct seen *seen, int c,
			char *err, size_t errlen)
{
	uint64_t u;

	switch (c) {
	case 'n':
		if (cli_parse_u64(optarg, 1, FCLI_CLIENTS_MAX, &u) == -1)
			return BAD("-n (1..1000000)");
		o->clients = (uint32_t)u;
		seen->clients = 1;
		break;
	case 'H':
		if (parse_host(o->host, sizeof(o->host), optarg,
			       strlen(optarg)) == -1)
			return BAD("-H (a host name or address)");
		seen->host = 1;
		break;
	case OPT_RECONNECT:
		if (cli_parse_u64(optarg, 1, FCLI_RECONNECT_MAX, &u) == -1)
			return BAD("--reconnect (1..1000)");
		o->reconnect = (uint32_t)u;
		break;
	case OPT_FIRST_CLIENT:
		if (cli_parse_u64(optarg, 0, FCLI_FIRST_CLIENT_MAX, &u) == -1)
			return BAD("--first-client (0..1000000000)");
		o->first_client = (uint32_t)u;
		break;
	case OPT_HOSTS:
		if (parse_hosts(o, optarg) == -1)
			return BAD("--hosts (HOST:PORT,... at most 16; "
				   "[IPv6]:PORT)");
		seen->hosts = 1;
		break;
	case 'p':
		if (cli_parse_u64(optarg, 1, 65535, &u) == -1)
			return BAD("-p (1..65535)");
		o->port = (uint16_t)u;
		seen->port = 1;
		break;
	case 'm':
		if (cli_parse_u64(optarg, 1, FMSG_BITMAP_MAX, &u) == -1)
			return BAD("-m (1..8589934592)");
		o->messages = u;
		seen->messages = 1;
		break;
	case 'd':
		if (parse_double(optarg, 0.001, FCLI_SECONDS_MAX,
				 &o->duration) == -1)
			return BAD("-d (0.001..86400 seconds)");
		seen->duration = 1;
		break;
	case 's':
		if (cli_parse_u64(optarg, 2, FCLI_SIZE_MAX, &u) == -1)
			return BAD("-s (2..65536)");
		o->size = (size_t)u;
		seen->size = 1;
		break;
	case 't':
		if (cli_parse_u64(optarg, 1, FCLI_THREADS_MAX, &u) == -1)
			return BAD("-t (1..256)");
		o->threads = (unsigned)u;
		break;
	case OPT_RATE:
		if (parse_double(optarg, 0.001, 1e9, &o->rate) == -1)
			return BAD("--rate (0.001..1e9 messages/s)");
		seen->rate = 1;
		break;
	case OPT_THINK:
		if (parse_double(optarg, 0, FCLI_TIMEOUT_MAX, &o->think_ms) ==
		    -1)
			return BAD("--think (0..3600000 ms)");
		seen->think = 1;
		break;
	case OPT_RAMP:
		if (parse_double(optarg, 0, FCLI_SECONDS_MAX, &o->ramp) == -1)
			return BAD("--ramp (0..86400 seconds)");
		seen->ramp = 1;
		break;
	case OPT_HOLD:
		if (parse_double(optarg, 0.001, FCLI_SECONDS_MAX, &o->hold) ==
		    -1)
			return BAD("--hold (0.001..86400 seconds)");
		seen->hold = 1;
		break;
	case OPT_MAX_TIME:
		if (parse_double(optarg, 0.001, FCLI_SECONDS_MAX,
				 &o->max_time) == -1)
			return BAD("--max-time (0.001..86400 seconds)");
		break;
	case OPT_TIMEOUT:
		if (cli_parse_u64(optarg, 1, FCLI_TIMEOUT_MAX, &u) == -1)
			return BAD("--timeout (1..3600000 ms)");
		o->timeout_ms = (unsigned)u;
		break;
	case OPT_PAYLOAD:
		if (optarg[0] == '\0' || strchr(optarg, '\n') != NULL ||
		    strlen(optarg) > FCLI_PAYLOAD_MAX)
			return BAD("--payload (1..65535 bytes, no newline)");
		o->payload = optarg;
		break;
	case OPT_VERIFY:
		return add_verify_file(o, optarg, err, errlen);
	case 'P':
		if (cli_parse_u64(optarg, 1, FCLI_PIPELINE_MAX, &u) == -1)
			return BAD("-P (1..1024)");
		o->pipeline = (unsigned)u;
		seen->pipeline = 1;
		break;
	case OPT_HDR_LOG:
		if (optarg[0] == '\0')
			return BAD("--hdr-log (a file name)");
		o->hdr_log = optarg;
		break;
	case OPT_NO_CORRECTION:
		o->no_correction = 1;
		break;
	case OPT_CSV:
		o->csv = 1;
		break;
	case OPT_PERCENTILES:
		o->percentiles = 1;
		break;
	case OPT_MERGE:
		o->merge = (char *const *)1; /* the files come after */
		break;
	case OPT_ECHO:
		o->echo = 1;
		break;
	case OPT_REPLY_ANY:
		o->reply_any_line = 1;
		break;
	case OPT_OCTET_COUNT:
		o->octet_count = 1;
		break;
	case OPT_CHURN:
		o->churn = 1;
		break;
	case OPT_UDP:
		o->udp = 1;
		break;
	case OPT_CHAT:
		o->chat = 1;
		break;
	case OPT_DEAF:
		if (cli_parse_u64(optarg, 0, FCLI_CHAT_MEMBERS_MAX, &u) == -1)
			return BAD("--deaf (0..2000)");
		o->deaf = (uint32_t)u;
		break;
	case OPT_JSON:
		o->json = 1;
		break;
	case OPT_RUN_START:
		if (cli_parse_u64(optarg, 1, INT64_MAX, &u) == -1)
			return BAD("--run-start (microseconds since 1970)");
		o->run_start_us = (int64_t)u;
		break;
	case OPT_ALLOW_TAIL:
		o->allow_missing_tail = 1;
		break;
	default: /* not reached: getopt_long only returns listed codes */
		return OPT_FAIL(err, errlen, "internal error: option %d", c);
	}
	return 0;
}

static int check_verify(struct fcli_opts *o, const struct seen *seen, char *err,
			size_t errlen)
{
	if (!seen->clients || !seen->messages)
		return OPT_FAIL(err, errlen, "--verify-log needs -n and -m");
	if (seen->duration || seen->hold || o->churn || o->echo || o->udp ||
	    o->payload != NULL || o->octet_count || seen->hosts ||
	    o->reconnect > 0 || o->first_client > 0)
		return OPT_FAIL(err, errlen,
				"--verify-log takes only -n, -m and -s");
	return 0;
}

static int check_hold(struct fcli_opts *o, const struct seen *seen, char *err,
		      size_t errlen)
{
	if (o->churn)
		return OPT_FAIL(err, errlen,
				"--hold and --churn exclude each "
				"other");
	if (o->echo || o->udp || o->payload != NULL || seen->messages ||
	    seen->duration || seen->rate || seen->think)
		return OPT_FAIL(err, errlen,
				"--hold sends nothing: it takes no "
				"--echo, --udp, --payload, -m, -d, "
				"--rate or --think");
	if (o->hold + o->ramp >= o->max_time)
		return OPT_FAIL(err, errlen,
				"--hold plus --ramp must be shorter "
				"than --max-time");
	return 0;
}

static int check_size(struct fcli_opts *o, const struct seen *seen, char *err,
		      size_t errlen)
{
	uint64_t last_seq;
	size_t need;

	if (o->payload != NULL) {
		if (seen->size)
			return OPT_FAIL(err, errlen,
					"--payload and -s exclude "
					"each other");
		o->size = strlen(o->payload) + 1;
		return 0;
	}
	last_seq = o->duration > 0 ? FCLI_DURATION_SEQ_MAX : o->messages - 1;
	need = fmsg_header_len(o->first_client + o->clients - 1, last_seq) + 1;
	if (o->size < need)
		return OPT_FAIL(err, errlen,
				"-s %zu is too small for the message "
				"header (need at least %zu)",
				o->size, need);
	return 0;
}

/* What only some modes take. */
static int check_modes(const struct fcli_opts *o, const struct seen *seen,
		       char *err, size_t errlen)
{
	if (o->json && o->csv)
		return OPT_FAIL(err, errlen,
				"--json and --csv exclude each other");
	if (seen->pipeline && (!o->echo || o->udp))
		return OPT_FAIL(err, errlen,
				"-P needs --echo over TCP (UDP replies are "
				"matched one at a time)");
	if (seen->pipeline && seen->think)
		return OPT_FAIL(err, errlen,
				"-P and --think exclude each other (a pause "
				"after each reply is no pipeline)");
	if (o->hdr_log != NULL && !o->echo)
		return OPT_FAIL(err, errlen,
				"--hdr-log needs --echo (it logs round trips)");
	if (o->no_correction && !seen->rate)
		return OPT_FAIL(err, errlen,
				"--no-correction needs --rate (without a "
				"schedule there is nothing to correct)");
	return 0;
}

/* --chat: a room of -n members each sending -m messages; only -s, -t,
 * -H, -p, --hosts, --timeout, --max-time, --json and --deaf go with it. */
static int check_chat(const struct fcli_opts *o, const struct seen *seen,
		      char *err, size_t errlen)
{
	if (!o->chat)
		return o->deaf > 0
			       ? OPT_FAIL(err, errlen, "--deaf needs --chat")
			       : 0;
	if (o->echo || o->udp || o->churn || o->hold > 0 || seen->duration ||
	    seen->rate || seen->think || seen->ramp || seen->pipeline ||
	    o->payload != NULL || o->hdr_log != NULL || o->csv ||
	    o->octet_count || o->reconnect > 0 || o->first_client > 0)
		return OPT_FAIL(err, errlen,
				"--chat takes only -n, -m, -s, -t, -H, -p, "
				"--hosts, --timeout, --max-time, --json and "
				"--deaf");
	if (o->clients < 2 || o->clients > FCLI_CHAT_MEMBERS_MAX)
		return OPT_FAIL(err, errlen, "--chat needs -n 2..%d",
				FCLI_CHAT_MEMBERS_MAX);
	return 0;
}

/* The servers: --hosts, or the one of -H and -p; host and port are
 * always hosts[0]'s, for the reports. */
static int check_hosts(struct fcli_opts *o, const struct seen *seen, char *err,
		       size_t errlen)
{
	if (!seen->hosts) {
		memcpy(o->hosts[0].host, o->host, sizeof(o->host));
		o->hosts[0].port = o->port;
		o->nhosts = 1;
		return 0;
	}
	if (seen->host || seen->port)
		return OPT_FAIL(err, errlen,
				"--hosts and -H or -p exclude each other");
	memcpy(o->host, o->hosts[0].host, sizeof(o->host));
	o->port = o->hosts[0].port;
	return 0;
}

static int check_combination(struct fcli_opts *o, const struct seen *seen,
			     char *err, size_t errlen)
{
	if (check_hosts(o, seen, err, errlen) != 0)
		return CLI_ERROR;
	if (check_chat(o, seen, err, errlen) != 0)
		return CLI_ERROR;
	if (o->allow_missing_tail && o->verify_log == NULL)
		return OPT_FAIL(err, errlen,
				"--allow-missing-tail needs --verify-log");
	if (o->run_start_us != 0 && o->verify_log == NULL)
		return OPT_FAIL(err, errlen, "--run-start needs --verify-log");
	if (seen->messages && seen->duration)
		return OPT_FAIL(err, errlen, "-m and -d exclude each other");
	if (seen->duration)
		o->messages = 0;
	if (o->verify_log != NULL) {
		if (check_verify(o, seen, err, errlen) != 0)
			return CLI_ERROR;
		return check_size(o, seen, err, errlen);
	}
	if (o->hold > 0 && check_hold(o, seen, err, errlen) != 0)
		return CLI_ERROR;
	if (o->churn && o->udp)
		return OPT_FAIL(err, errlen,
				"--churn needs TCP: it excludes --udp");
	if (o->reply_any_line && !o->echo)
		return OPT_FAIL(err, errlen, "--reply-any-line needs --echo");
	if (o->reconnect > 0 && (o->echo || o->udp || o->churn || o->hold > 0))
		return OPT_FAIL(err, errlen,
				"--reconnect is for one-way TCP: it excludes "
				"--echo, --udp, --churn and --hold");
	if (o->first_client > 0 && o->payload != NULL)
		return OPT_FAIL(err, errlen,
				"--first-client numbers flood's messages: it "
				"excludes --payload");
	if (o->octet_count && (o->echo || o->udp || o->churn || o->hold > 0 ||
			       o->payload != NULL))
		return OPT_FAIL(err, errlen,
				"--octet-count is for one-way TCP: it "
				"excludes --echo, --udp, --churn, --hold "
				"and --payload");
	if (check_modes(o, seen, err, errlen) != 0)
		return CLI_ERROR;
	if (o->duration + o->ramp >= o->max_time)
		return OPT_FAIL(err, errlen,
				"-d plus --ramp must be shorter than "
				"--max-time");
	return check_size(o, seen, err, errlen);
}

/* --merge FILE...: the operands are the files; only --percentiles
 * goes with it. */
static int check_merge(struct fcli_opts *o, const struct seen *seen, int argc,
		       char *argv[], char *err, size_t errlen)
{
	if (optind >= argc)
		return OPT_FAIL(err, errlen, "--merge needs at least one file");
	if (seen->run_options || o->nverify > 0)
		return OPT_FAIL(err, errlen,
				"--merge takes only files and --percentiles");
	/* "--merge A B --percentiles": getopt stopped at A. */
	while (argc > optind && strcmp(argv[argc - 1], "--percentiles") == 0) {
		o->percentiles = 1;
		argc--;
	}
	if (optind >= argc)
		return OPT_FAIL(err, errlen, "--merge needs at least one file");
	o->merge = argv + optind;
	o->nmerge = argc - optind;
	return CLI_RUN;
}

enum cli_result fcli_parse(struct fcli_opts *o, int argc, char *argv[],
			   char *err, size_t errlen)
{
	struct seen seen;
	int c, operands = 0;

	set_defaults(o);
	memset(&seen, 0, sizeof(seen));
	err[0] = '\0';
	optind = 0; /* glibc: 0 re-initialises getopt completely */
	opterr = 0; /* we print our own messages */
	for (;;) {
		c = getopt_long(argc, argv, short_options, long_options, NULL);
		if (c == -1) {
			/* An operand: one more --verify-log file (checked
			 * below), unless --merge takes the rest. */
			if (optind >= argc || o->merge != NULL)
				break;
			if (add_verify_file(o, argv[optind++], err, errlen) !=
			    0)
				return CLI_ERROR;
			operands++;
			continue;
		}
		if (c == 'h')
			return CLI_HELP;
		if (c == 'V')
			return CLI_VERSION;
		if (c == '?' || c == ':') {
			cli_option_error(err, errlen, c, argv, long_options);
			return CLI_ERROR;
		}
		if (parse_option(o, &seen, c, err, errlen) != 0)
			return CLI_ERROR;
		if (c != OPT_MERGE && c != OPT_PERCENTILES)
			seen.run_options++;
	}
	if (o->merge != NULL)
		return check_merge(o, &seen, argc, argv, err, errlen);
	if (operands > 0 && o->nverify == (unsigned)operands)
		return OPT_FAIL(err, errlen, "unexpected argument '%s'",
				o->verify_logs[0]);
	if (o->threads > o->clients)
		o->threads = o->clients; /* an idle thread helps nobody */
	return check_combination(o, &seen, err, errlen);
}
