/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * broker.h - mtserver --chat --broker redis://HOST:PORT[/ROOM]: this
 * server's room joined to the room ROOM (default "chat") of every other
 * server naming the same Redis, through one Redis Stream,
 * "mtserver:room:ROOM" (docs/broker.md says why Streams).
 *
 * Out: each batch of lines a member says here (one received buffer's
 * lines, chat.h) is tapped under the room's lock into a bounded queue
 * (a memcpy, never a wait: chat_room_link); the publish thread sends the
 * queue with XADD (MAXLEN ~ BROKER_STREAM_MAXLEN), each entry numbered
 * with this server's line count (node, run, seq, dropped, lines).  A
 * batch that does not fit the queue (the broker down for long) is
 * dropped and counted, and the numbers go on, so that every other server
 * sees the gap.  An XADD whose answer was lost is sent again: receivers
 * drop what they have (seq), so a line is delivered once.
 *
 * In: the subscribe thread reads the stream (XREAD BLOCK, from the last
 * id it saw; at start, from the start's time) and hands every other
 * server's lines to the room as a feed (chat_feed): posted in their turn
 * like a member's, so a member that never reads is dropped by the room's
 * rules, and the thread stops reading the stream (which keeps it) until
 * the room can take more.  Its own lines (node and run) it skips: no
 * echo.  A gap in a server's numbers is counted, logged (broker-lost
 * lines=N reason=R from=NODE) and told to the room: "* lines from other
 * servers were lost: N".
 *
 * Order: every member sees each server's lines in that server's room
 * order (so each sender's in the order sent), and lines of this server
 * at once; two members on different servers may see two servers' lines
 * interleaved differently.
 *
 * Failure: the room never waits for the broker.  Either thread that
 * loses its connection logs broker-down (error, next retry) and tries
 * again after BROKER_BACKOFF_MIN_MS, doubling up to BROKER_BACKOFF_MAX_MS,
 * and logs broker-up once back.  Every command is bounded by
 * BROKER_TIMEOUT_MS.
 *
 * Threads: broker_start and broker_stop on the main thread; the two
 * threads are the module's own.  Memory: the queue, the feed and the
 * largest XREAD reply are charged to the server's budget (--max-memory)
 * at start, released at stop.  Nothing exits; errors are -1/NULL with a
 * message in err.
 */
#ifndef BROKER_H
#define BROKER_H

#include <stddef.h>

#include "chat.h"
#include "log.h"
#include "membudget.h"

/* Lines said here waiting for the broker, in two halves (one filled
 * while the other is sent): tens of thousands of chat lines, several
 * seconds of a busy room with the broker away. */
#define BROKER_QUEUE_BYTES (4 * (size_t)1024 * 1024)
/* One stream entry at most: one voice's batch (chat.h), so that a feed
 * takes an entry at once. */
#define BROKER_ENTRY_MAX CHAT_BATCH_BYTES
/* Entries the stream keeps (XADD MAXLEN ~): how far a server may fall
 * behind (a slow member holding its room) before it misses lines. */
#define BROKER_STREAM_MAXLEN 10000
/* Entries one XREAD returns at most. */
#define BROKER_READ_COUNT 64
/* XREAD BLOCK: how late the subscribe thread sees a stop. */
#define BROKER_BLOCK_MS 200
/* A connect or a command waits this long for the broker at most. */
#define BROKER_TIMEOUT_MS 1000
/* Reconnecting: the first retry, doubled up to the last. */
#define BROKER_BACKOFF_MIN_MS 50
#define BROKER_BACKOFF_MAX_MS 2000
/* At the stop, queued lines may still go out for this long. */
#define BROKER_STOP_MS 1000
/* ROOM: 1..BROKER_ROOM_MAX of [A-Za-z0-9_.-]. */
#define BROKER_ROOM_MAX 64

struct broker;

/* Checks URL (redis://HOST:PORT[/ROOM]): 0, or -1 with the reason in
 * err (the option's error line). */
int broker_check_url(const char *url, char *err, size_t errlen);

/* Joins room to the broker at URL: charges budget, starts both threads
 * (they connect by themselves: a broker not up yet is retried, not an
 * error).  max_text: --max-line.  NULL with a message in err. */
struct broker *broker_start(const char *url, struct chat_room *room,
			    struct logger *log, struct membudget *budget,
			    size_t max_text, char *err, size_t errlen);

/* Sends what is queued (for BROKER_STOP_MS at most: the rest is logged
 * lost, reason=stopping), stops both threads, frees all.  Before the
 * room and the log go. */
void broker_stop(struct broker *b);

#endif
