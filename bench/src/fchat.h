/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fchat.h - flood --chat: load and check a chat room.
 *
 * -n members connect to a chat server (mtserver --chat, ncat --chat: any
 * server that relays each line to the other clients with a prefix of
 * its own, "user5: " or "<user5> "), wait until the room has them all,
 * then each sends -m messages "@SENDER:SEQ:MICROSECONDS" (padded to -s
 * bytes) as fast as the server takes them.  Every member reads all the
 * time and checks, for every other member, that its messages arrive
 * exactly once and in the order sent; a line without '@' (the server's
 * notices) is ignored.  Each receipt is a delivery; its latency is from
 * the send to that receipt.  --deaf N adds N members that never read:
 * what a room does with a member that stops reading.  With --hosts,
 * member i (deaf ones too) connects to server i mod N: one room spread
 * over servers that relay to each other (a broker), checked the same
 * way, each sender's order kept.
 *
 * The room is ready when every member has read a probe line ("@P"),
 * which member 0 sends every PROBE_MS until then: a member that reads
 * one is in the room, so no message is sent before everyone can hear it.
 *
 * Threads: fchat_run spreads the members over -t threads (epoll each,
 * no locks on the message path) and merges their results; call it from
 * one thread.  Every wait is bounded: the room's readiness by
 * ENG_SLOW_TIMEOUT_MS, deliveries by --timeout without progress, all by
 * --max-time; eng_request_stop() (a signal) stops it too.
 * Memory: a counter per (receiver, sender) pair, freed before return.
 * Errors: -1 with a message in err when the run cannot be set up;
 * problems of the run are counted in the result.
 */
#ifndef FLOOD_FCHAT_H
#define FLOOD_FCHAT_H

#include <stdint.h>
#include <stdio.h>

#include "fcli.h"
#include "hist.h"

struct fchat_result {
	double ready_s;		 /* connecting until the room had everyone */
	double elapsed;		 /* first send to last delivery, seconds */
	uint64_t expected;	 /* members x (members - 1) x messages */
	uint64_t deliveries;	 /* received once, in order */
	uint64_t missing;	 /* expected, never received */
	uint64_t duplicated;	 /* a sender's message received again */
	uint64_t out_of_order;	 /* a sender's message after a later one */
	uint64_t unexpected;	 /* a member's own line, a bad number */
	uint64_t conn_failed;	 /* connects or connections that failed */
	int timed_out;		 /* no delivery for --timeout */
	int max_time;		 /* still running at --max-time */
	int interrupted;	 /* stopped by a signal */
	struct hist delivery_us; /* send to each receipt */
};

/* Runs the room o describes.  0, or -1 with err. */
int fchat_run(const struct fcli_opts *o, struct fchat_result *r, char *err,
	      size_t errlen);

/* Asks a running fchat_run to stop (async-signal-safe). */
void fchat_request_stop(void);

/* 1 when every delivery arrived exactly once and in order. */
int fchat_ok(const struct fchat_result *r);

/* The JSON object (keys in fcli_usage) and the human report. */
void fchat_report_json(FILE *fp, const struct fcli_opts *o,
		       const struct fchat_result *r, int ok);
void fchat_report_human(FILE *fp, const struct fcli_opts *o,
			const struct fchat_result *r, int ok);

#endif
