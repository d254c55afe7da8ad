/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli.c - command-line parsing for both servers; contract in cli.h.
 */
#define _GNU_SOURCE /* getopt_long */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "frame.h"
#include "metrics.h"
#include "net.h"

enum {
	OPT_ECHO = 256,
	OPT_CHAT,
	OPT_CHAT_UDP,
	OPT_BROKER,
	OPT_NO_UDP,
	OPT_NO_TCP,
	OPT_MAX_CLIENTS,
	OPT_MAX_PER_IP,
	OPT_UDP_ECHO_RATE,
	OPT_MAX_MEMORY,
	OPT_IDLE,
	OPT_SEND_TIMEOUT,
	OPT_MAX_LINE,
	OPT_BACKLOG,
	OPT_DRAIN,
	OPT_PROXY_PROTOCOL,
	OPT_PROXY_FROM,
	OPT_FRAMING,
	OPT_LOG_FORMAT,
	OPT_PID_FILE,
	OPT_METRICS,
	OPT_KEEPALIVE,
	OPT_TCP_USER_TIMEOUT,
	OPT_THREADS,
	OPT_LOOPS,
};

/* The options both servers take; stserver, serving one TCP client at a
 * time, takes no others.  (Not formatted: clang-format would indent the
 * macro's list as one statement.) */
/* clang-format off */
#define BOTH_OPTIONS                                                    \
	{"bind", required_argument, NULL, 'b'},                         \
	{"echo", no_argument, NULL, OPT_ECHO},                          \
	{"log", required_argument, NULL, 'l'},                          \
	{"quiet", no_argument, NULL, 'q'},                              \
	{"log-format", required_argument, NULL, OPT_LOG_FORMAT},        \
	{"idle-timeout", required_argument, NULL, OPT_IDLE},            \
	{"max-memory", required_argument, NULL, OPT_MAX_MEMORY},        \
	{"send-timeout", required_argument, NULL, OPT_SEND_TIMEOUT},    \
	{"max-line", required_argument, NULL, OPT_MAX_LINE},            \
	{"backlog", required_argument, NULL, OPT_BACKLOG},              \
	{"drain-timeout", required_argument, NULL, OPT_DRAIN},          \
	{"proxy-protocol", no_argument, NULL, OPT_PROXY_PROTOCOL},      \
	{"proxy-from", required_argument, NULL, OPT_PROXY_FROM},        \
	{"framing", required_argument, NULL, OPT_FRAMING},              \
	{"keepalive", required_argument, NULL, OPT_KEEPALIVE},          \
	{"tcp-user-timeout", required_argument, NULL, OPT_TCP_USER_TIMEOUT}, \
	{"help", no_argument, NULL, 'h'},                               \
	{"version", no_argument, NULL, 'V'},

static const struct option st_options[] = {
	BOTH_OPTIONS
	{NULL, 0, NULL, 0},
};

/* mtserver's own (and every concurrent model's): transports, the chat
 * room, client limits, metrics. */
#define MANY_OPTIONS                                                    \
	{"chat", no_argument, NULL, OPT_CHAT},                          \
	{"chat-udp", no_argument, NULL, OPT_CHAT_UDP},                  \
	{"no-udp", no_argument, NULL, OPT_NO_UDP},                      \
	{"no-tcp", no_argument, NULL, OPT_NO_TCP},                      \
	{"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},      \
	{"max-per-ip", required_argument, NULL, OPT_MAX_PER_IP},        \
	{"udp-echo-rate", required_argument, NULL, OPT_UDP_ECHO_RATE},  \
	{"pid-file", required_argument, NULL, OPT_PID_FILE},            \
	{"metrics", required_argument, NULL, OPT_METRICS},              \
	{"broker", required_argument, NULL, OPT_BROKER},

static const struct option mt_options[] = {
	BOTH_OPTIONS
	MANY_OPTIONS
	{NULL, 0, NULL, 0},
};

/* rpserver's: mtserver's, and how many event loops. */
static const struct option rp_options[] = {
	BOTH_OPTIONS
	MANY_OPTIONS
	{"loops", required_argument, NULL, OPT_LOOPS},
	{NULL, 0, NULL, 0},
};

/* ptserver's: mtserver's and the pool's size. */
static const struct option pt_options[] = {
	BOTH_OPTIONS
	MANY_OPTIONS
	{"threads", required_argument, NULL, OPT_THREADS},
	{NULL, 0, NULL, 0},
};

/* clang-format on */

/* Every model but the iterative one serves many clients at once, and
 * takes mtserver's options. */
static bool many(enum cli_kind kind)
{
	return kind != CLI_STSERVER;
}

static const char *const prog_names[] = {
	[CLI_MTSERVER] = "mtserver", [CLI_STSERVER] = "stserver",
	[CLI_PTSERVER] = "ptserver", [CLI_FKSERVER] = "fkserver",
	[CLI_EPSERVER] = "epserver", [CLI_RPSERVER] = "rpserver",
	[CLI_URSERVER] = "urserver",
};

int cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* cli_parse_u64 for the config's long settings (0 <= min <= max). */
static int parse_number(const char *text, long min, long max, long *out)
{
	uint64_t v;

	if (cli_parse_u64(text, (uint64_t)min, (uint64_t)max, &v) == -1)
		return -1;
	*out = (long)v;
	return 0;
}

/* Seconds with up to three decimals ("5", "0.5", "2.250") as
 * milliseconds in [0, max_ms]. */
static int parse_seconds_ms(const char *text, long max_ms, long *out)
{
	const char *dot = strchr(text, '.');
	char whole[16];
	long sec, ms = 0, scale = 100;
	size_t n = dot != NULL ? (size_t)(dot - text) : strlen(text);

	if (n == 0 || n >= sizeof(whole))
		return -1;
	memcpy(whole, text, n);
	whole[n] = '\0';
	if (parse_number(whole, 0, max_ms / 1000, &sec) == -1)
		return -1;
	if (dot != NULL) {
		if (dot[1] == '\0' || strlen(dot + 1) > 3)
			return -1;
		for (const char *d = dot + 1; *d != '\0'; d++, scale /= 10) {
			if (*d < '0' || *d > '9')
				return -1;
			ms += (*d - '0') * scale;
		}
	}
	if (sec * 1000 + ms > max_ms)
		return -1;
	*out = sec * 1000 + ms;
	return 0;
}

static void set_defaults(struct config *cfg, enum cli_kind kind)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->kind = kind;
	cfg->prog = prog_names[kind];
	cfg->bind_addr = NULL;
	cfg->tcp = true;
	cfg->udp = many(kind);
	cfg->idle_timeout = CLI_DEFAULT_IDLE;
	cfg->send_timeout = CLI_DEFAULT_SEND_TIMEOUT;
	cfg->keepalive_idle = CLI_DEFAULT_KEEPALIVE_IDLE;
	cfg->keepalive_interval = CLI_DEFAULT_KEEPALIVE_INTERVAL;
	cfg->keepalive_count = CLI_DEFAULT_KEEPALIVE_COUNT;
	cfg->tcp_user_timeout = CLI_DEFAULT_TCP_USER_TIMEOUT;
	cfg->max_per_ip = -1;
	cfg->udp_echo_rate = -1;
	cfg->max_memory = -1;
	cfg->max_line = CLI_DEFAULT_MAX_LINE;
	cfg->framing = FRAME_AUTO;
	cfg->drain_timeout_ms = CLI_DEFAULT_DRAIN_MS;
	cfg->backlog =
		many(kind) ? CLI_DEFAULT_BACKLOG_MT : CLI_DEFAULT_BACKLOG_ST;
	cfg->threads = CLI_DEFAULT_THREADS;
}

static enum cli_result number_option(const char *name, const char *text,
				     long min, long max, long *out, char *err,
				     size_t errlen)
{
	if (parse_number(text, min, max, out) == 0)
		return CLI_RUN;
	return OPT_FAIL(err, errlen, "invalid %s '%s' (expected %ld-%ld)", name,
			text, min, max);
}

/* --keepalive IDLE[,INTERVAL[,COUNT]]: seconds, seconds, probes; "0"
 * turns keepalive off.  What is not given keeps its default. */
static enum cli_result keepalive_option(struct config *cfg, const char *text,
					char *err, size_t errlen)
{
	long *fields[] = {&cfg->keepalive_idle, &cfg->keepalive_interval,
			  &cfg->keepalive_count};
	char part[16];
	const char *p = text;

	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);

		if (n == 0 || n >= sizeof(part))
			break;
		memcpy(part, p, n);
		part[n] = '\0';
		if (parse_number(part, i == 0 ? 0 : 1, CLI_MAX_KEEPALIVE,
				 fields[i]) == -1)
			break;
		if (comma == NULL)
			return CLI_RUN;
		p = comma + 1;
	}
	return OPT_FAIL(
		err, errlen,
		"invalid --keepalive '%s' (expected IDLE[,INTERVAL[,COUNT]], each 1-%d; 0 = off)",
		text, CLI_MAX_KEEPALIVE);
}

/* A size: decimal bytes, or with a suffix K, M or G (binary units). */
static enum cli_result size_option(const char *name, const char *text, long max,
				   long *out, char *err, size_t errlen)
{
	static const char units[] = "KMG";
	char digits[32];
	size_t len = strlen(text);
	const char *unit;
	int shift = 0;
	long v;

	if (len > 0 && len < sizeof(digits) &&
	    (unit = strchr(units, text[len - 1])) != NULL && *unit != '\0') {
		shift = 10 * (int)(unit - units + 1);
		memcpy(digits, text, len - 1);
		digits[len - 1] = '\0';
		text = digits;
	}
	if (parse_number(text, 0, max >> shift, &v) == 0) {
		*out = v << shift;
		return CLI_RUN;
	}
	return OPT_FAIL(
		err, errlen,
		"invalid %s '%s' (expected bytes, or a number with K, M or G)",
		name, text == digits ? optarg : text);
}

/* --proxy-from CIDR, repeatable. */
static enum cli_result proxy_from_option(struct config *cfg, const char *text,
					 char *err, size_t errlen)
{
	if (cfg->proxy_from_count == CLI_PROXY_FROM_MAX)
		return OPT_FAIL(err, errlen,
				"too many --proxy-from (at most %d)",
				CLI_PROXY_FROM_MAX);
	if (pp_net_parse(text, &cfg->proxy_from[cfg->proxy_from_count]) == -1)
		return OPT_FAIL(
			err, errlen,
			"invalid --proxy-from '%s' (expected ADDR or ADDR/BITS, IPv4 or IPv6, host bits zero)",
			text);
	cfg->proxy_from_count++;
	return CLI_RUN;
}

/* --framing auto|lf|octet (frame.h, docs/framing.md). */
static enum cli_result framing_option(const char *text, enum frame_framing *out,
				      char *err, size_t errlen)
{
	static const struct {
		const char *name;
		enum frame_framing framing;
	} names[] = {
		{"auto", FRAME_AUTO}, {"lf", FRAME_LF}, {"octet", FRAME_OCTET}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(text, names[i].name) == 0) {
			*out = names[i].framing;
			return CLI_RUN;
		}
	}
	return OPT_FAIL(err, errlen,
			"invalid --framing '%s' (expected auto, lf or octet)",
			text);
}

static enum cli_result parse_option(struct config *cfg, int c, bool *idle_given,
				    char *err, size_t errlen)
{
	long v = 0;

	switch (c) {
	case 'b':
		cfg->bind_addr = optarg;
		return CLI_RUN;
	case OPT_ECHO:
		cfg->echo = true;
		return CLI_RUN;
	case OPT_CHAT:
		cfg->chat = true;
		return CLI_RUN;
	case OPT_CHAT_UDP:
		cfg->chat_udp = true;
		return CLI_RUN;
	case OPT_BROKER:
		if (broker_check_url(optarg, err, errlen) == -1)
			return CLI_ERROR;
		cfg->broker = optarg;
		return CLI_RUN;
	case OPT_NO_UDP:
		cfg->udp = false;
		return CLI_RUN;
	case OPT_NO_TCP:
		cfg->tcp = false;
		return CLI_RUN;
	case 'l':
		if (optarg[0] == '\0')
			return OPT_FAIL(err, errlen, "empty log file name");
		cfg->log_path = optarg;
		return CLI_RUN;
	case 'q':
		cfg->quiet = true;
		return CLI_RUN;
	case OPT_LOG_FORMAT:
		if (logline_format_parse(optarg, &cfg->log_format) == -1)
			return OPT_FAIL(err, errlen,
					"invalid --log-format '%s' (expected "
					"text or json)",
					optarg);
		return CLI_RUN;
	case OPT_PID_FILE:
		if (optarg[0] == '\0')
			return OPT_FAIL(err, errlen, "empty pid file name");
		cfg->pid_file = optarg;
		return CLI_RUN;
	case OPT_MAX_CLIENTS:
		return number_option("--max-clients", optarg, 1,
				     CLI_MAX_CLIENTS, &cfg->max_clients, err,
				     errlen);
	case OPT_MAX_PER_IP:
		return number_option("--max-per-ip", optarg, 0, CLI_MAX_CLIENTS,
				     &cfg->max_per_ip, err, errlen);
	case OPT_UDP_ECHO_RATE:
		return number_option("--udp-echo-rate", optarg, 0,
				     CLI_MAX_UDP_ECHO_RATE, &cfg->udp_echo_rate,
				     err, errlen);
	case OPT_MAX_MEMORY:
		return size_option("--max-memory", optarg, CLI_MAX_MEMORY,
				   &cfg->max_memory, err, errlen);
	case OPT_IDLE:
		*idle_given = true;
		return number_option("--idle-timeout", optarg, 0, CLI_MAX_IDLE,
				     &cfg->idle_timeout, err, errlen);
	case OPT_SEND_TIMEOUT:
		return number_option("--send-timeout", optarg, 0, CLI_MAX_IDLE,
				     &cfg->send_timeout, err, errlen);
	case OPT_MAX_LINE:
		return number_option("--max-line", optarg, 1,
				     (long)FRAME_MAX_LINE_LIMIT, &cfg->max_line,
				     err, errlen);
	case OPT_BACKLOG:
		if (number_option("--backlog", optarg, 1, 65535, &v, err,
				  errlen) != CLI_RUN)
			return CLI_ERROR;
		cfg->backlog = (int)v;
		return CLI_RUN;
	case OPT_THREADS:
		return number_option("--threads", optarg, 1, CLI_MAX_THREADS,
				     &cfg->threads, err, errlen);
	case OPT_DRAIN:
		if (parse_seconds_ms(optarg, CLI_MAX_DRAIN_MS,
				     &cfg->drain_timeout_ms) == -1)
			return OPT_FAIL(
				err, errlen,
				"invalid --drain-timeout '%s' (expected seconds, 0-%ld, up to 3 decimals)",
				optarg, CLI_MAX_DRAIN_MS / 1000);
		return CLI_RUN;
	case OPT_PROXY_PROTOCOL:
		cfg->proxy_protocol = true;
		return CLI_RUN;
	case OPT_PROXY_FROM:
		return proxy_from_option(cfg, optarg, err, errlen);
	case OPT_FRAMING:
		return framing_option(optarg, &cfg->framing, err, errlen);
	case OPT_METRICS:
		if (metrics_parse_addr(optarg, &cfg->metrics_addr, err,
				       errlen) == -1)
			return CLI_ERROR;
		cfg->metrics = optarg;
		return CLI_RUN;
	case OPT_KEEPALIVE:
		return keepalive_option(cfg, optarg, err, errlen);
	case OPT_LOOPS:
		return number_option("--loops", optarg, 1, CLI_MAX_LOOPS,
				     &cfg->loops, err, errlen);
	case OPT_TCP_USER_TIMEOUT:
		return number_option("--tcp-user-timeout", optarg, 0,
				     CLI_MAX_IDLE, &cfg->tcp_user_timeout, err,
				     errlen);
	case 'h':
		return CLI_HELP;
	case 'V':
		return CLI_VERSION;
	default: /* not reached: the caller handles '?' and ':' */
		return OPT_FAIL(err, errlen, "internal error: option %d", c);
	}
}

enum cli_result cli_parse(struct config *cfg, enum cli_kind kind, int argc,
			  char *argv[], char *err, size_t errlen)
{
	const struct option *options = kind == CLI_RPSERVER   ? rp_options
				       : kind == CLI_PTSERVER ? pt_options
				       : many(kind)	      ? mt_options
							      : st_options;
	struct net_addr addr;
	char why[NET_ERR_MAX];
	bool idle_given = false;
	long port;
	int c;

	set_defaults(cfg, kind);
	optind = 0; /* glibc: full re-initialisation, so tests can re-parse */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":b:l:qhV", options, NULL)) != -1) {
		enum cli_result r;

		if (c == '?' || c == ':') {
			cli_option_error(err, errlen, c, argv, options);
			return CLI_ERROR;
		}
		r = parse_option(cfg, c, &idle_given, err, errlen);
		if (r != CLI_RUN)
			return r;
	}
	if (optind >= argc)
		return OPT_FAIL(err, errlen, "missing PORT (try --help)");
	if (optind + 1 < argc)
		return OPT_FAIL(err, errlen, "unexpected argument '%s'",
				argv[optind + 1]);
	if (parse_number(argv[optind], 0, 65535, &port) == -1)
		return OPT_FAIL(err, errlen,
				"invalid port '%s' (expected 0-65535)",
				argv[optind]);
	cfg->port = (unsigned)port;
	if (!cfg->tcp && !cfg->udp)
		return OPT_FAIL(err, errlen,
				"--no-tcp and --no-udp leave nothing to serve");
	if (cfg->chat && kind == CLI_FKSERVER)
		return OPT_FAIL(err, errlen,
				"--chat: a room cannot span processes (each "
				"client has its own; it would need shared "
				"memory or IPC): use mtserver");
	if (cfg->chat && !cfg->tcp)
		return OPT_FAIL(err, errlen,
				"--chat needs TCP: UDP senders cannot listen");
	if (cfg->chat_udp && (!cfg->chat || !cfg->udp))
		return OPT_FAIL(err, errlen, "--chat-udp needs --chat and UDP");
	if (cfg->broker != NULL && !cfg->chat)
		return OPT_FAIL(err, errlen, "--broker needs --chat");
	if (cfg->proxy_from_count > 0 && !cfg->proxy_protocol)
		return OPT_FAIL(err, errlen,
				"--proxy-from needs --proxy-protocol");
	if (cfg->proxy_protocol && !cfg->tcp)
		return OPT_FAIL(err, errlen,
				"--proxy-protocol needs TCP: it is TCP only");
	/* A chat member may listen for hours without a word. */
	if (cfg->chat && !idle_given)
		cfg->idle_timeout = 0;
	/* Above the send timeout: a non-reader is its (cli.h). */
	if (cfg->tcp_user_timeout < 0)
		cfg->tcp_user_timeout =
			(cfg->send_timeout > 0 ? cfg->send_timeout
					       : CLI_DEFAULT_SEND_TIMEOUT) +
			CLI_USER_TIMEOUT_MARGIN;
	if (cfg->bind_addr != NULL &&
	    net_parse_addr(&addr, cfg->bind_addr, cfg->port, why,
			   sizeof(why)) == -1)
		return OPT_FAIL(err, errlen, "%s", why);
	return CLI_RUN;
}

const char *cli_program_name(const char *argv0, const char *fallback)
{
	const char *slash;

	if (argv0 == NULL)
		return fallback;
	slash = strrchr(argv0, '/');
	if (slash != NULL)
		argv0 = slash + 1;
	return argv0[0] != '\0' ? argv0 : fallback;
}

/* Whether the long option o is what "--name" (name[0..len)) asks for:
 * its whole name or, as getopt_long allows, a prefix of it. */
static bool long_name_fits(const struct option *o, const char *name, size_t len)
{
	return strncmp(o->name, name, len) == 0;
}

/* The options "--name" (name[0..len)) may mean: the exact one if any,
 * else every one it is a prefix of.  Returns how many, the first in
 * *found; with want_val >= 0 only options with that val count. */
static int long_matches(const struct option *options, const char *name,
			size_t len, int want_val, const struct option **found)
{
	int n = 0;

	*found = NULL;
	for (const struct option *o = options; o->name != NULL; o++) {
		if (!long_name_fits(o, name, len) ||
		    (want_val >= 0 && o->val != want_val))
			continue;
		if (o->name[len] == '\0') { /* exact: nothing else counts */
			*found = o;
			return 1;
		}
		if (n++ == 0)
			*found = o;
	}
	return n;
}

void cli_option_error(char *err, size_t errlen, int c, char *const argv[],
		      const struct option *options)
{
	/* A long option's word is argv[optind - 1]; a short option may be
	 * in the middle of a cluster, where optind has not moved yet, so
	 * the word is long only if it names an option that fits optopt. */
	const char *word = optind > 0 ? argv[optind - 1] : NULL;
	const struct option *o = NULL;
	const char *name;
	size_t len = 0;
	int n = 0;

	if (word != NULL && strncmp(word, "--", 2) == 0 && word[2] != '\0') {
		name = word + 2;
		len = strcspn(name, "=");
		n = long_matches(options, name, len, optopt == 0 ? -1 : optopt,
				 &o);
		if (optopt == 0 && n > 1) {
			net_error(err, errlen, "option '--%.*s' is ambiguous",
				  (int)len, name);
			return;
		}
		if (optopt == 0) {
			net_error(err, errlen, "unknown option '--%.*s'",
				  (int)len, name);
			return;
		}
	}
	if (o != NULL && c == ':') {
		net_error(err, errlen, "option '--%s' needs a value", o->name);
		return;
	}
	if (o != NULL) {
		net_error(err, errlen,
			  "option '--%s' doesn't allow an argument", o->name);
		return;
	}
	if (c == ':')
		net_error(err, errlen, "option '-%c' needs a value", optopt);
	else if (optopt > ' ' && optopt < 127)
		net_error(err, errlen, "unknown option '-%c'", optopt);
	else
		net_error(err, errlen, "unknown option (byte %d)", optopt);
}

int cli_close_output(FILE *out, const char *prog, FILE *errs)
{
	bool lost = ferror(out) != 0;
	int saved;

	errno = 0;
	if (fclose(out) == 0 && !lost)
		return 0;
	/* Only fclose's own failure sets errno: an earlier lost write
	 * has no reason left to tell. */
	saved = errno;
	if (saved != 0)
		fprintf(errs, "%s: write error: %s\n", prog, strerror(saved));
	else
		fprintf(errs, "%s: write error\n", prog);
	return 1;
}

void cli_version(FILE *out, const char *prog)
{
	fprintf(out,
		"%s (mtserver) %s\n"
		"Copyright (C) 2026 The mtserver authors.\n"
		"License BSD-2-Clause: "
		"<https://spdx.org/licenses/BSD-2-Clause.html>.\n"
		"This is free software: you are free to change and "
		"redistribute it.\n"
		"There is NO WARRANTY, to the extent permitted by law.\n",
		prog, MT_VERSION);
}

void cli_usage(FILE *out, enum cli_kind kind)
{
	if (kind == CLI_FKSERVER)
		fputs("Usage: fkserver [OPTIONS] PORT\n"
		      "Log every line clients send over TCP and UDP on PORT; "
		      "a process of its own\n(fork) serves each TCP client, "
		      "all appending to one log.  For comparison\nwith "
		      "mtserver; no --chat (a room cannot span processes).\n\n",
		      out);
	else if (kind == CLI_PTSERVER)
		fputs("Usage: ptserver [OPTIONS] PORT\n"
		      "Log every line clients send over TCP and UDP on PORT; a "
		      "pool of --threads\nthreads started at once serves TCP "
		      "clients, each one client at a time:\nthe others wait "
		      "their turn.  For comparison with mtserver.\n\n",
		      out);
	else if (kind == CLI_EPSERVER)
		fputs("Usage: epserver [OPTIONS] PORT\n"
		      "Log every line clients send over TCP and UDP on PORT; "
		      "one epoll event loop\nserves every TCP connection, one "
		      "thread UDP, one shared logger.\n\n",
		      out);
	else if (kind == CLI_URSERVER)
		fputs("Usage: urserver [OPTIONS] PORT\n"
		      "Log every line clients send over TCP and UDP on PORT; "
		      "one io_uring event loop\nserves every TCP connection, "
		      "one thread UDP, one shared logger.\n\n",
		      out);
	else if (kind == CLI_RPSERVER)
		fputs("Usage: rpserver [OPTIONS] PORT\n"
		      "Log every line clients send over TCP and UDP on PORT; "
		      "N epoll event loops,\neach on a thread with a "
		      "SO_REUSEPORT listener of its own, one thread UDP,\none "
		      "shared logger.\n\n",
		      out);
	else if (kind == CLI_MTSERVER)
		fputs("Usage: mtserver [OPTIONS] PORT\n"
		      "Log every line clients send over TCP and UDP on PORT; "
		      "one thread per TCP\nconnection, one thread for UDP, one "
		      "shared logger.\n\n",
		      out);
	else
		fputs("Usage: stserver [OPTIONS] PORT\n"
		      "Log every line one TCP client at a time sends on PORT: "
		      "the iterative\nserver, for comparison with mtserver. "
		      "TCP only: a UDP loop is iterative\nalready (one "
		      "recvfrom after another), so mtserver's UDP thread is "
		      "that\nserver.\n\n",
		      out);
	fputs("  PORT                  0-65535; 0 picks a free port\n"
	      "  -b, --bind ADDR       IPv4/IPv6 address (default: every "
	      "address, IPv6 and\n"
	      "                        IPv4; 0.0.0.0 where there is no "
	      "IPv6)\n",
	      out);
	fputs(many(kind)
		      ? "      --echo            send every message back (TCP: "
			"the line; UDP: a datagram)\n"
		      : "      --echo            send every message back, as "
			"a line\n",
	      out);
	if (many(kind))
		fputs("      --chat            a chat room: each TCP message "
		      "goes to every other\n"
		      "                        client as 'NAME: TEXT'; /nick "
		      "NAME, /who, /help;\n"
		      "                        with --echo, senders get their "
		      "own lines too; no\n"
		      "                        idle timeout unless given\n"
		      "      --chat-udp        with --chat, UDP senders speak "
		      "to the room too, as\n"
		      "                        'udp?:ADDR:PORT' (unverified), "
		      "10 lines/s per\n"
		      "                        address; off by default: UDP "
		      "sources can be forged\n"
		      "      --broker redis://HOST:PORT[/ROOM]\n"
		      "                        with --chat, one room with every "
		      "server naming the\n"
		      "                        same Redis and ROOM (default "
		      "chat), through a\n"
		      "                        Redis Stream (docs/broker.md)\n"
		      "      --no-udp          serve TCP only\n"
		      "      --no-tcp          serve UDP only\n"
		      "      --pid-file FILE   write the process ID to FILE, "
		      "locked while it runs\n"
		      "                        (pkill -HUP -L -F FILE "
		      "reopens this server's log)\n",
		      out);
	fputs("  -l, --log FILE        append the log to FILE (default "
	      "standard output)\n"
	      "  -q, --quiet           log connection events only, not "
	      "messages\n"
	      "      --log-format F    text (default) or json: one JSON "
	      "object per line\n",
	      out);
	if (kind == CLI_PTSERVER)
		fprintf(out,
			"      --threads N       the pool's threads: clients "
			"served at once (default\n"
			"                        %d)\n",
			CLI_DEFAULT_THREADS);
	if (kind == CLI_RPSERVER)
		fputs("      --loops N         event loops, each with a "
		      "listener of its own\n"
		      "                        (SO_REUSEPORT; default: the "
		      "online CPUs)\n",
		      out);
	if (many(kind))
		fputs("      --max-clients N   concurrent TCP clients "
		      "(default: "
		      "from RLIMIT_NOFILE);\n"
		      "                        one more is told 'server full' "
		      "and closed\n"
		      "      --max-per-ip N    concurrent TCP clients from one "
		      "address (default 256,\n"
		      "                        loopback exempt; 0 = no "
		      "limit)\n"
		      "      --udp-echo-rate B UDP echo bytes per second to "
		      "one address (default\n"
		      "                        262144, loopback exempt; 0 = no "
		      "limit)\n"
		      "      --metrics ADDR:PORT\n"
		      "                        serve Prometheus metrics at "
		      "http://ADDR:PORT/metrics\n"
		      "                        (default off; [ADDR]:PORT for "
		      "IPv6)\n",
		      out);
	fprintf(out,
		"      --idle-timeout S  disconnect a TCP client quiet for S "
		"seconds (default %d;\n"
		"                        0 = never); only whole messages "
		"count\n"
		"      --send-timeout S  disconnect a client whose replies "
		"make "
		"no progress for\n"
		"                        S seconds (default %d; 0 = never)\n"
		"      --keepalive I,N,C TCP keepalive: probe after I idle "
		"seconds, every N,\n"
		"                        drop after C unanswered (default "
		"60,10,3; 0 = off)\n"
		"      --tcp-user-timeout S\n"
		"                        drop a peer that acknowledges nothing "
		"for S seconds\n"
		"                        (default: --send-timeout + 30, so 90; "
		"0 = the kernel's)\n"
		"      --max-line BYTES  longer messages are logged truncated "
		"(default %d)\n"
		"      --framing F       TCP framing: auto (default: octet "
		"counting when a\n"
		"                        connection starts 'COUNT <PRI>', as "
		"syslog senders\n"
		"                        do), lf, or octet (RFC 6587: "
		"'COUNT SP MSG')\n"
		"      --max-memory SIZE all clients' buffers together, K/M/G "
		"allowed (default\n"
		"                        a quarter of RAM, at most 1G; 0 = no "
		"limit); beyond it\n"
		"                        clients are told 'server busy'\n"
		"      --backlog N       listen(2) backlog (default %d)\n"
		"      --drain-timeout S at stop, read what clients still send "
		"for at most S\n"
		"                        seconds in all (default %ld; "
		"fractions ok)\n"
		"      --proxy-protocol  every TCP connection starts with a "
		"PROXY header (v1 or\n"
		"                        v2, HAProxy's send-proxy): log and "
		"limit its client\n"
		"      --proxy-from CIDR take PROXY headers only from this "
		"network (repeatable)\n"
		"  -h, --help            this text\n"
		"  -V, --version         version\n\n"
		"A message ends at '\\n' or '\\0'; a trailing '\\r' is "
		"dropped; "
		"'quit' ends a\nTCP session.  SIGTERM/SIGINT: stop, read what "
		"clients still send (until\nthey close, go quiet, or the "
		"drain timeout), flush the log, print a summary;\nthe same "
		"signal again within 1 s counts once, later it forces the exit "
		"(as\nSIGQUIT does).  SIGHUP: reopen the log file.\nExit "
		"status: 0 ok, 1 runtime error or log lines lost, 2 usage "
		"error.\n\n" CLI_REPORT_BUGS "\n",
		CLI_DEFAULT_IDLE, CLI_DEFAULT_SEND_TIMEOUT,
		CLI_DEFAULT_MAX_LINE,
		many(kind) ? CLI_DEFAULT_BACKLOG_MT : CLI_DEFAULT_BACKLOG_ST,
		CLI_DEFAULT_DRAIN_MS / 1000);
}
