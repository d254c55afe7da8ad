/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fmsg.h - flood's self-describing messages and the log check.
 *
 * Message (client, seq) of size S bytes is
 *
 *	"c<client> m<seq> " + 'x' padding + "\n"
 *
 * exactly S bytes long, e.g. "c17 m423 xxxxxxxxxxxxxxxxxxxxxxx\n" for
 * S = 32.  Clients are numbered 0..n-1 and every client's sequence
 * numbers start at 0, so a log that holds every message exactly once is
 * a complete, loss-free, duplicate-free run.
 *
 * The log check reads an mtserver log (one event per line,
 * "TIMESTAMP TRANSPORT PEER #N EVENT [REST]") and accounts for every
 * "msg" and "msg-truncated" event whose text looks like a flood message
 * ("c" followed by a digit).  Other lines and other messages are
 * ignored (and counted).  Seen messages are kept in a bitmap of n * m
 * bits, so memory is fixed and no line is copied or allocated.
 *
 * Errors: -1 with errno; fmsg_verify_file() also writes a one-line
 * message into the caller's err buffer.  Memory: a struct fmsg_verify
 * owns its bitmap (fmsg_verify_free() releases it).  Threads: any thread,
 * one struct per thread; the functions keep no hidden state.
 */
#ifndef FLOOD_FMSG_H
#define FLOOD_FMSG_H

#include "hist.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "c4294967295 m18446744073709551615 " is 34 bytes: room for any
 * header with a 32-bit client and a 64-bit sequence number. */
#define FMSG_HEADER_MAX 40

/* Length of the header "c<client> m<seq> " (with its trailing space). */
size_t fmsg_header_len(uint32_t client, uint64_t seq);

/* The smallest message size (including '\n') that can carry every
 * message of clients 0..nclients-1 with sequence numbers
 * 0..nseq-1.  nclients and nseq must be >= 1. */
size_t fmsg_min_size(uint32_t nclients, uint64_t nseq);

/* Writes message (client, seq) of exactly size bytes to buf, which
 * must hold size bytes.  0, or -1 with errno EINVAL when size is too
 * small for the header plus '\n'. */
int fmsg_format(char *buf, size_t size, uint32_t client, uint64_t seq);

/* RFC 6587 octet counting (flood --octet-count): message (client, seq)
 * of size bytes goes out as "LEN SP" and the message without its '\n'
 * (LEN = size - 1), which a server framing by the count logs as the same
 * text.  Every message of a run has the same size, so the same wire
 * size: fmsg_octet_size(size) bytes. */
size_t fmsg_octet_size(size_t size);

/* Writes message (client, seq) of size bytes, octet-counted, to buf,
 * which must hold fmsg_octet_size(size) bytes.  0, or -1 with errno
 * EINVAL as fmsg_format(). */
int fmsg_format_octet(char *buf, size_t size, uint32_t client, uint64_t seq);

/* Parses message text WITHOUT its '\n' (len bytes).  0 and *client,
 * *seq set when it is a well-formed flood message (exact header, only
 * 'x' after it); -1 otherwise.  The caller checks the length. */
int fmsg_parse(const char *text, size_t len, uint32_t *client, uint64_t *seq);

/* Examples kept per kind of problem, and how much of each we keep:
 * enough to see a pattern, small enough to read in a terminal. */
#define FMSG_EXAMPLES	 10
#define FMSG_EXAMPLE_LEN 160

struct fmsg_examples {
	unsigned count;
	char text[FMSG_EXAMPLES][FMSG_EXAMPLE_LEN];
};

/* Files of one check at most: a log and its rotations, or the logs of
 * a fleet's nodes (fcli.h's FCLI_VERIFY_MAX). */
#define FMSG_FILES_MAX 16

/* What one file of the check held (fmsg_verify_add_file). */
struct fmsg_file {
	const char *path; /* the caller's string */
	uint64_t lines;	  /* its lines */
	uint64_t found;	  /* messages seen here first */
	/* messages seen before, in this file or an earlier one: a message
	 * in two nodes' logs is a duplicate, counted in the second */
	uint64_t duplicated;
	uint64_t corrupted;
};

struct fmsg_verify {
	/* what was expected: set by fmsg_verify_init() */
	uint32_t nclients;
	uint64_t nseq;
	size_t size; /* message size including '\n' */
	int allow_missing_tail;
	uint64_t *bitmap; /* bit client * nseq + seq; owned */

	/* what was found: counters are valid after fmsg_verify_finish() */
	uint64_t lines;	     /* lines read */
	uint64_t msg_lines;  /* msg / msg-truncated events */
	uint64_t other_msgs; /* msg events that are not flood messages */
	uint64_t expected;   /* nclients * nseq */
	uint64_t found;	     /* distinct valid messages */
	uint64_t missing;    /* expected - found */
	uint64_t duplicated; /* valid messages seen again */
	uint64_t corrupted;  /* flood-like but malformed or out of range */
	uint64_t torn;	     /* files whose last line lacks its '\n' */
	/* The first of them (a path given to fmsg_verify_add_file). */
	const char *torn_path;
	/* --allow-missing-tail only: */
	uint64_t holes;	       /* missing messages before a found one */
	uint64_t tail_missing; /* missing - holes */
	uint32_t complete;     /* clients with all nseq messages */
	uint64_t shortest;     /* fewest messages any client got */
	uint32_t shortest_client;

	/* first_logged_us: per client whose m0 is logged, the time from
	 * the origin to m0's log timestamp.  The origin is start_us when
	 * set (fmsg_verify_init() leaves it 0: the caller sets it, e.g.
	 * from the run's started_unix_us), else the log's first connect
	 * line (the server accepting flood's first client: flood's start
	 * plus about one connect), else its first flood message.  Times
	 * are microseconds since the epoch. */
	int64_t start_us;
	int64_t first_connect_us;     /* -1: none seen */
	int64_t *m0_us;		      /* per client, -1: not logged; owned */
	struct hist *first_logged_us; /* valid after finish; owned */

	/* Per file, in the order given (fmsg_verify_add_file); lines fed
	 * directly (fmsg_verify_feed) count in the totals only. */
	struct fmsg_file files[FMSG_FILES_MAX];
	unsigned nfiles;

	struct fmsg_examples ex_missing;
	struct fmsg_examples ex_duplicated;
	struct fmsg_examples ex_corrupted;
};

/* 8 Gbit = 1 GiB of bitmap: far beyond any run we make, small enough to
 * be allocated on the machines we run on. */
#define FMSG_BITMAP_MAX (8ull << 30)

/* Prepares v for nclients * nseq messages of size bytes.  -1 with
 * errno EINVAL (a zero count, size too small, or a bitmap over
 * FMSG_BITMAP_MAX bits) or ENOMEM. */
int fmsg_verify_init(struct fmsg_verify *v, uint32_t nclients, uint64_t nseq,
		     size_t size, int allow_missing_tail);

/* Accounts for the log lines in text[0..len); a last line without '\n'
 * is taken as a line too.  May be called several times with whole
 * lines. */
void fmsg_verify_feed(struct fmsg_verify *v, const char *text, size_t len);

/* Computes missing/holes and their examples.  Call once, after the
 * last fmsg_verify_feed(). */
void fmsg_verify_finish(struct fmsg_verify *v);

/* 1 when the run was perfect (or, with allow_missing_tail, every client
 * got a prefix of its messages), else 0. */
int fmsg_verify_ok(const struct fmsg_verify *v);

/* Maps path and feeds it (no finish): call once per file of a rotated
 * log or per node of a fleet (at most FMSG_FILES_MAX; its counts go to
 * v->files too), then fmsg_verify_finish().  Every message must be in
 * exactly one of the files: one in two of them is duplicated.  A last line
 * without its '\n' is torn (its writer died, or is still writing): not fed,
 * counted in torn, which fails the check.  Only a regular file is read:
 * anything else (a FIFO that may never see a writer, a device) is an error, at
 * once. 0, or -1 with errno and a message in err. */
int fmsg_verify_add_file(struct fmsg_verify *v, const char *path, char *err,
			 size_t errlen);

/* Maps path and runs feed + finish over it.  0, or -1 with errno and a
 * message in err. */
int fmsg_verify_file(struct fmsg_verify *v, const char *path, char *err,
		     size_t errlen);

/* Human-readable result: the files' names (what was read), the totals,
 * and with several files a line per file. */
void fmsg_verify_print(FILE *fp, const struct fmsg_verify *v);

void fmsg_verify_free(struct fmsg_verify *v);

#endif
