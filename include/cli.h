/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli.h - the servers' command line: mtserver and stserver share it, so
 * that the two programs differ in their concurrency model only.
 *
 *   mtserver [OPTIONS] PORT     thread per connection, TCP and UDP
 *   stserver [OPTIONS] PORT     one client at a time, TCP only
 *
 * cli_parse never prints and never exits: it fills a config or an error
 * line, and the caller's main decides (usage errors exit 2).  Strings in
 * the config point into argv.  Not thread-safe (getopt_long): call it
 * from main only.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "net.h"
#include "proxyproto.h"
#include "frame.h"
#include "logline.h"

#define MT_VERSION "1.0"

/* Defaults, each with its reason. */
#define CLI_DEFAULT_IDLE       300  /* five quiet minutes end a session */
#define CLI_DEFAULT_MAX_LINE   4096 /* a page: far above any chat line */
#define CLI_DEFAULT_BACKLOG_ST 5    /* the seed's listen(fd, 5) */
#define CLI_DEFAULT_BACKLOG_MT 4096 /* the kernel's usual somaxconn */
#define CLI_MAX_IDLE	       (7L * 24 * 3600) /* a week: beyond is a typo */
#define CLI_MAX_CLIENTS	       1000000L
#define CLI_MAX_UDP_ECHO_RATE  (1L << 30) /* 1 GiB/s: beyond is no limit */
/* Stop: sessions drain for at most this long in all.  Well inside
 * systemd's 90 s stop timeout and what an operator waits for; ample for
 * loopback and LAN clients to finish sending what they had in flight. */
#define CLI_DEFAULT_DRAIN_MS 5000L
#define CLI_MAX_DRAIN_MS     3600000L /* an hour: beyond is a typo */

/* Replies making no progress for a minute: the client is not reading
 * (nginx's send_timeout is the same minute). */
#define CLI_DEFAULT_SEND_TIMEOUT 60
/*
 * Dead peers (a link gone without FIN or RST): TCP keepalive probes after
 * a minute of silence, every 10 s, 3 unanswered drop the peer; and data
 * unacknowledged for TCP_USER_TIMEOUT drops it.  On Linux the user
 * timeout also ends a connection whose peer keeps its window shut that
 * long (a live client that does not read) and replaces the keepalive
 * count, so by default it follows --send-timeout, 30 s above it: a
 * client that does not read stays the send timeout's (reason
 * send-timeout), and a dead one goes within about 90 s, quiet or spoken
 * to.  -1: that default.
 */
#define CLI_DEFAULT_KEEPALIVE_IDLE     60
#define CLI_DEFAULT_KEEPALIVE_INTERVAL 10
#define CLI_DEFAULT_KEEPALIVE_COUNT    3
#define CLI_DEFAULT_TCP_USER_TIMEOUT   (-1)
#define CLI_USER_TIMEOUT_MARGIN	       30
#define CLI_MAX_KEEPALIVE	       32767 /* the kernel's limit, s */
/* Connections per source address (README, "What a hostile client can
 * and cannot do"): far above a classroom behind one NAT address, far
 * below the thousands of slots one address could otherwise take.
 * Loopback is exempt from the default, not from an explicit value. */
#define CLI_DEFAULT_MAX_PER_IP 256
/* UDP echo bytes per second to one source address: 2 Mbit/s, plenty for
 * a person or a test, little for a flood aimed at a spoofed victim.
 * Loopback is exempt from the default, as above. */
#define CLI_DEFAULT_UDP_ECHO_RATE (256 * 1024L)
/* --proxy-from networks: a few proxies' subnets; more is a firewall's
 * job. */
#define CLI_PROXY_FROM_MAX 16
/* --max-memory: beyond a tebibyte is a typo. */
#define CLI_MAX_MEMORY (1L << 40)

/* ptserver's pool: the clients it serves at once (the others wait for a
 * thread).  Enough blocked sessions to keep 16 cores busy, a fixed
 * number so that figures compare across machines; at most as many as
 * a thread-per-connection server would start. */
#define CLI_DEFAULT_THREADS 64
#define CLI_MAX_THREADS	    100000L

/* The concurrency models (server.h): thread per connection, iterative,
 * a prethreaded pool, a process per connection, one epoll loop, N
 * SO_REUSEPORT loops, one io_uring loop.  All but stserver take
 * mtserver's options. */
enum cli_kind {
	CLI_MTSERVER,
	CLI_STSERVER,
	CLI_PTSERVER,
	CLI_FKSERVER,
	CLI_EPSERVER,
	CLI_RPSERVER,
	CLI_URSERVER
};

/* --loops: one per CPU is the point; far beyond that is a typo. */
#define CLI_MAX_LOOPS 256

enum cli_result {
	CLI_RUN,     /* config filled: start the server */
	CLI_HELP,    /* --help: print cli_usage, exit 0 */
	CLI_VERSION, /* --version: print it, exit 0 */
	CLI_ERROR    /* err filled: print it, exit 2 */
};

struct config {
	enum cli_kind kind;
	const char *prog;      /* "mtserver", "stserver", "epserver"... */
	const char *bind_addr; /* numeric IPv4/IPv6 address; NULL: every
				  address, IPv6 and IPv4 (net_any_addr) */
	unsigned port;	       /* 0: the kernel picks one */
	bool tcp, udp;
	bool echo;
	bool chat;	      /* --chat: a room (chat.h); mtserver only */
	bool chat_udp;	      /* --chat-udp: UDP senders speak in the room */
	const char *broker;   /* --broker URL (broker.h), or NULL */
	bool quiet;	      /* log connection events only */
	const char *log_path; /* NULL: standard output */
	const char *pid_file; /* --pid-file (pidfile.h), or NULL */
	long max_clients;     /* 0: from RLIMIT_NOFILE */
	long max_per_ip;      /* 0: no limit; -1: the default */
	long udp_echo_rate;   /* bytes/s per source; 0: none; -1: default */
	long max_memory;      /* session buffers, bytes; 0: none; -1: default */
	long idle_timeout;    /* seconds; 0: never (--chat's default) */
	long send_timeout;    /* seconds replies may stall; 0: never */
	/* --keepalive IDLE,INTERVAL,COUNT (seconds; idle 0: off) and
	 * --tcp-user-timeout (seconds; 0: the kernel's; from the send
	 * timeout when not given, see above): every session. */
	long keepalive_idle, keepalive_interval, keepalive_count;
	long tcp_user_timeout;
	long max_line;	       /* bytes */
	long drain_timeout_ms; /* --drain-timeout, in milliseconds */
	int backlog;
	long threads; /* --threads: ptserver's pool */
	/* --proxy-protocol: every TCP connection starts with a PROXY
	 * header (proxyproto.h), from one of proxy_from when any. */
	bool proxy_protocol;
	size_t proxy_from_count;
	struct pp_net proxy_from[CLI_PROXY_FROM_MAX];
	enum frame_framing framing; /* --framing, of TCP streams (frame.h) */
	enum logline_format log_format; /* --log-format: text or json */
	/* --metrics ADDR:PORT as given (NULL: off), and parsed. */
	const char *metrics;
	struct net_addr metrics_addr;
	long loops; /* rpserver --loops; 0: the online CPUs */
};

enum cli_result cli_parse(struct config *cfg, enum cli_kind kind, int argc,
			  char *argv[], char *err, size_t errlen);

/*
 * What every program of the project shares on its command line (the
 * servers here, mtclient and flood too), as the GNU Coding Standards
 * ask: the same words for the same mistakes, the same --version and
 * bug-report lines, output errors never ignored.
 */

/* The last line of every program's --help.  The project has no public
 * address (mailing list, tracker) yet: the README says what to do. */
#define CLI_REPORT_BUGS                                                        \
	"Report bugs: see \"Reporting bugs\" in README.md (no public "         \
	"address yet)."

/* The name the program was invoked as: the last path component of
 * argv0 (so flood installed as mtflood says mtflood), or fallback when
 * argv0 is NULL, empty or ends in '/'.  Points into argv0 or is
 * fallback. */
const char *cli_program_name(const char *argv0, const char *fallback);

/* Strict unsigned decimal, the whole of text, in [min, max]: a digit
 * first (strtoull alone takes " -1" and "+1"), nothing after, no
 * overflow.  0, or -1 with *out untouched.  Every number on the
 * project's command lines is read here. */
int cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* An option error, for every command-line parser of the project: writes
 * the one-line reason into err (net_error: a format and its arguments)
 * and yields CLI_ERROR, as in
 *   return OPT_FAIL(err, errlen, "invalid --port '%s'", text); */
#define OPT_FAIL(...) (net_error(__VA_ARGS__), CLI_ERROR)

struct option;

/*
 * getopt_long returned c, '?' or ':' (with opterr 0 and ':' leading the
 * short options): writes the reason into err[0..errlen), one line
 * without the program's name, naming the option as GNU getopt does:
 * "unknown option '--x'" or "unknown option '-x'", "option '--echo'
 * doesn't allow an argument", "option '--no' is ambiguous", "option
 * '--log' needs a value".  Call it before getopt_long runs again (it
 * reads optind and optopt); options is the table getopt_long had.
 */
void cli_option_error(char *err, size_t errlen, int c, char *const argv[],
		      const struct option *options);

/* Closes out, the program's standard output, as coreutils'
 * close_stdout does at exit: 0, or when anything written to it was
 * lost (a full disk, a closed pipe) one line "PROG: write error:
 * REASON" on errs and 1, the exit status to return.  Nothing may be
 * written to out afterwards. */
int cli_close_output(FILE *out, const char *prog, FILE *errs);

/* Prints the --help text for kind. */
void cli_usage(FILE *out, enum cli_kind kind);

/* Prints the --version text of any of the project's programs (prog is
 * its name): name and version, copyright, license, no warranty, in the
 * GNU form. */
void cli_version(FILE *out, const char *prog);

#endif
