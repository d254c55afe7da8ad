/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fcli.h - flood's command line.
 *
 * fcli_parse() turns argv into a struct fcli_opts, applying defaults and
 * rejecting every bad value and every contradictory combination with a
 * one-line message, so that the rest of flood can trust its options.
 *
 * Memory: the struct is the caller's; string options (host is copied,
 * payload and verify_log are not) point into argv, which must outlive
 * it.  Threads: main thread only, because getopt_long() keeps its state
 * in globals (optind, optarg); fcli_parse() resets them, so it may be
 * called more than once (the tests do).  Results are the servers'
 * (cli.h): CLI_RUN, CLI_HELP (print fcli_usage), CLI_VERSION (print
 * cli_version), or CLI_ERROR and a message (without a "flood: " prefix)
 * in the caller's err buffer.
 */
#ifndef FLOOD_FCLI_H
#define FLOOD_FCLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

/* Limits, each with its reason. */
#define FCLI_CLIENTS_MAX  1000000 /* far above any fd limit we can get */
#define FCLI_THREADS_MAX  256	  /* a few per core is already plenty */
#define FCLI_SIZE_MAX	  65536	  /* one message fits a send batch */
#define FCLI_TIMEOUT_MAX  3600000 /* an hour, in ms */
#define FCLI_SECONDS_MAX  86400.0 /* a day: -d, --hold, --ramp, ... */
#define FCLI_HOST_LEN	  256	  /* a DNS name is at most 253 bytes */
#define FCLI_PIPELINE_MAX 1024	  /* far more than a window needs */
/* --chat keeps a counter per (receiver, sender): 2000 members is 16 MB
 * of them and 4 million deliveries per message round. */
#define FCLI_CHAT_MEMBERS_MAX 2000
#define FCLI_PAYLOAD_MAX      (FCLI_SIZE_MAX - 1)

/* With -d the number of messages is unknown; headers must still fit
 * for sequence numbers up to this (a client would need a day at 100k
 * messages/s to reach it; one that does stops there). */
#define FCLI_DURATION_SEQ_MAX 9999999999ull

/* --hosts servers at most: a fleet behind one load machine; a larger
 * one is loaded by several flood processes (bench/README.md). */
#define FCLI_HOSTS_MAX 16

/* --reconnect at most: a client that lost this many connections is
 * failing, not moving. */
#define FCLI_RECONNECT_MAX 1000

/* --first-client at most: with -n up to FCLI_CLIENTS_MAX, a client
 * number still fits 32 bits. */
#define FCLI_FIRST_CLIENT_MAX 1000000000u

/* One server of the run: a name or an IPv4/IPv6 literal (no brackets)
 * and a port. */
struct fcli_host {
	char host[FCLI_HOST_LEN];
	uint16_t port;
};

/* --verify-log files at most: a log and its rotations, .1 to .15. */
#define FCLI_VERIFY_MAX 16

struct fcli_opts {
	uint32_t clients;	  /* -n, default 1 */
	char host[FCLI_HOST_LEN]; /* -H, a name or an IPv4/IPv6 literal */
	uint16_t port;		  /* -p, default 8888 */
	uint64_t messages;	  /* -m per client, default 1000; 0 with -d */
	double duration;	  /* -d seconds, 0 = count messages */
	size_t size;		  /* -s bytes with '\n', default 32 */
	double rate;		  /* --rate total msgs/s, 0 = unlimited */
	double think_ms;	  /* --think, 0 = none */
	double ramp;		  /* --ramp seconds, 0 = all at once */
	double hold;		  /* --hold seconds, 0 = not a hold run */
	double max_time;	  /* --max-time seconds, default 600 */
	unsigned timeout_ms;	  /* --timeout, default 1000 */
	unsigned threads;	  /* -t, default online CPUs */
	int echo;		  /* --echo */
	int reply_any_line;	  /* --reply-any-line */
	int churn;		  /* --churn */
	int octet_count;	  /* --octet-count: "LEN SP MSG" (RFC 6587) */
	int udp;		  /* --udp */
	int json;		  /* --json */
	const char *payload;	  /* --payload TEXT (without '\n'), or NULL */
	const char *verify_log;	  /* --verify-log FILE, or NULL */
	/* Every --verify-log FILE in order (verify_logs[0] == verify_log):
	 * a rotated log is several files, each message in exactly one. */
	const char *verify_logs[FCLI_VERIFY_MAX];
	unsigned nverify;
	int allow_missing_tail; /* --allow-missing-tail */
	unsigned pipeline;	/* -P, echo messages in flight (1) */
	int no_correction;	/* --no-correction: rtt from the send */
	int csv;		/* --csv */
	int percentiles;	/* --percentiles */
	const char *hdr_log;	/* --hdr-log FILE, or NULL */
	int chat;		/* --chat: a room of -n members (fchat.h) */
	uint32_t deaf;		/* --deaf N: with --chat, members that
				   never read */
	char *const *merge;	/* --merge FILE...: the files, or NULL */
	int nmerge;
	int64_t run_start_us; /* --run-start: first_logged_us's origin */
	/* The servers: --hosts HOST:PORT,... in order, else the one -H/-p
	 * names; host and port above are hosts[0]'s.  Client (or chat
	 * member) i talks to hosts[i % nhosts]: round robin. */
	struct fcli_host hosts[FCLI_HOSTS_MAX];
	unsigned nhosts; /* 1..FCLI_HOSTS_MAX */
	/* --reconnect N, one-way TCP: a connection the server ends while
	 * the client has messages left is replaced, N times at most per
	 * client (engine.h); 0: it fails the client. */
	uint32_t reconnect;
	/* --first-client K: this process's clients are c<K>..c<K+n-1> in
	 * the messages, so that several flood processes against one fleet
	 * send distinct messages, checked by one --verify-log -n TOTAL. */
	uint32_t first_client;
};

enum cli_result fcli_parse(struct fcli_opts *o, int argc, char *argv[],
			   char *err, size_t errlen);

/* The --help text; prog: the name flood was invoked as (installed, it
 * is mtflood). */
void fcli_usage(FILE *fp, const char *prog);

#endif
