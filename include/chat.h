/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chat.h - mtserver --chat: one room where every client hears the others.
 *
 * The room is the state every worker shares: the list of members, their
 * names, and whether the server is stopping.  One mutex guards all of it,
 * and no socket call is ever made under it.  A member's worker speaks by
 * formatting its lines outside the lock ("NAME: TEXT\n", TEXT escaped as
 * in the log, logfmt.h, and its runs of blanks folded into one space so
 * that padding cannot push words onto the next row of a screen, where
 * they would pass for another member's line; the log keeps the bytes as
 * received; a received buffer's lines together) and then,
 * under the lock, posting them into every other member's outbox
 * (outbox_post: a memcpy into a bounded inbox and, when that inbox was
 * empty, an eventfd write that cannot block).  Each member's own worker
 * is the only thread that writes to its socket.  So a sender's thread
 * never waits for a receiver.  A member that does not read is bounded
 * too: once its inbox is more than half full, chat_may_read tells the
 * senders' workers to stop reading their clients (TCP pushes back on
 * them) for at most CHAT_SLOW_MS; a member still that far behind then is
 * dropped (outbox_shutdown_posts wakes its worker, which leaves with
 * reason=slow-reader, and the others read "* NAME left (too slow)").
 * Senders that had already read when a member fell behind hold what they
 * read, they do not push it in: a sender's lines are posted only when
 * every member can take them (chat_flush), else they wait in its voice,
 * and the frame it was reading waits paused (chat_ready, FRAME_PAUSE),
 * and the sender reads nothing more until they are posted - by the same
 * CHAT_SLOW_MS at the latest.  So a busy room of any size never drops a
 * member that keeps up, however many senders were mid-read.  Only lines
 * that cannot wait (a UDP sender's, a notice, a member leaving, the
 * server stopping) drop a member whose inbox cannot take them - except
 * at the stop, where such a member just gets no more lines (no reason
 * to call it slow: everyone is leaving) and what it was sent goes out in
 * the stop's flush.  No member ever sees a gap: a line is posted whole,
 * or the member gets none after it.
 *
 * Order: lines are posted under the room's one lock, so the room has one
 * order, and every member receives the lines it receives in that order:
 * any one sender's lines in the order sent, and any two members see any
 * two lines in the same order.  Replies to commands (/who, /nick) and
 * notices take their place in the same order.
 *
 * Lines a member receives (README, "Chat"):
 *   NAME: TEXT              a message (never from the member itself,
 *                           unless the room echoes: --chat --echo)
 *   * NAME joined           * NAME left (REASON)      * OLD is now NEW
 *   * welcome, NAME ...     * error: ...              * server stopping
 * A name is 1..CHAT_NAME_MAX of [A-Za-z0-9_.-], so a message line never
 * starts with "* ", and unique by its look: names whose ASCII confusable
 * skeletons match (aIice, a1ice, ALICE and alice) are one name.  The default
 * name is "user" and the connection number (the log's #N), and names of that
 * form are kept for it; a UDP sender speaks as "udp:ADDRESS:PORT" and cannot
 * listen.
 *
 * Memory: a room is chat_room_new's, freed by chat_room_free once no
 * thread uses it; a member is its owner's (embedded in its session),
 * with a line buffer allocated on its first message.
 * Threads: chat_room_new/free on the main thread; every other function
 * may be called by any thread for its own member or voice.  The room
 * posts into member outboxes only while they are in the room, and
 * chat_leave takes them out under the lock, so an outbox may be freed
 * once its owner has left.
 * Failure: -1 with errno where stated; nothing here logs except through
 * the caller's batch, and nothing exits.
 */
#ifndef CHAT_H
#define CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "log.h"
#include "outbox.h"

/* Longest name: room for "alice_the_great" and an IRC nick (9). */
#define CHAT_NAME_MAX 24
/* Longest speaker name, a UDP one included: "udp:[" IPv6 "]:65535". */
#define CHAT_SPEAKER_MAX 64
/* A member's outbox (inbox and send queue each): how far a member may
 * fall behind the room beyond what the kernel's socket buffers hold:
 * tens of thousands of chat lines.  Memory is touched only as it fills. */
#define CHAT_OUTBOX_BYTES (1024 * (size_t)1024)
/* A member more than half an outbox behind holds the senders back (they
 * stop reading their clients: TCP pushes back on them) for at most this
 * long; then the room drops it ("too slow").  Long enough for a reader
 * on a loaded machine to catch up, short enough that one member that
 * stopped reading costs the room a pause, not a stall. */
#define CHAT_SLOW_MS 2000
/* A sender posts the lines of one received buffer together (one lock,
 * one post per member); past this many bytes of them, at once. */
#define CHAT_BATCH_BYTES (64 * (size_t)1024)
/* How often a held-back sender looks again. */
#define CHAT_RETRY_MS 10

struct chat_room;

/* A speaker's lines not yet posted: "NAME: TEXT\n"... in buf[0, len). */
struct chat_voice {
	char *buf;
	size_t len, cap;
	size_t max_text; /* --max-line */
};

struct chat_member {
	/* Guarded by the room's lock: */
	TAILQ_ENTRY(chat_member) link;
	char name[CHAT_NAME_MAX + 1]; /* written only by the owner */
	size_t name_len;
	const char *dropped;	/* why the room gave up on it, or NULL */
	long long behind_since; /* ms (monotonic) it went over half, or 0 */
	bool in_room;
	bool full_at_stop; /* stopping, it could take no more: gets none */
	/* The owner's: */
	bool leaving;	    /* its lines no longer wait (chat_last_words) */
	struct outbox *out; /* posts go here while in_room */
	uint64_t id;	    /* connection number: default name */
	struct chat_voice voice;
};

/* Bytes a member's outbox needs: a sender's whole voice (a batch and a
 * line of max_text bytes) fits into any inbox at most half full. */
size_t chat_outbox_cap(size_t max_text);

/* A room; echo: senders get their own lines too.  NULL with errno. */
struct chat_room *chat_room_new(bool echo);
void chat_room_free(struct chat_room *room);

/* Members in the room now. */
size_t chat_room_size(struct chat_room *room);

/* Prepares a voice for messages of max_text bytes (no allocation). */
void chat_voice_init(struct chat_voice *v, size_t max_text);
void chat_voice_free(struct chat_voice *v);

/* Prepares m (no allocation): connection number id, outbox out (posts
 * enabled).  Then chat_join. */
void chat_member_init(struct chat_member *m, struct outbox *out, uint64_t id,
		      size_t max_text);

/* Enters the room as "user<id>": m gets a welcome line, the others
 * "* NAME joined". */
void chat_join(struct chat_room *room, struct chat_member *m);

/* Whether m may take its client's next message now: chat_ready(alone)
 * is true when m's voice has room for one more line, or, for a message
 * that must not join lines still waiting (alone: a command, or the
 * session's "quit"), when the voice is empty - having tried to post it
 * (chat_flush).  false: the reader pauses before this message (it is
 * neither logged nor said yet) and reads nothing more until
 * chat_may_read says so. */
bool chat_ready(struct chat_room *room, struct chat_member *m, bool alone);

/* Whether msg[0..len) is a command (a '/' not doubled). */
bool chat_is_command(const char *msg, size_t len);

/* One message from member m (never "quit"), chat_ready having said yes:
 * a command (/nick NAME, /who, /help; "//text" says "/text") or a line
 * for the others.  A message waits in m's voice until chat_flush.  A
 * successful /nick is logged into batch as "nick name=NAME" (log_who:
 * the member's WHO in the log). */
void chat_input(struct chat_room *room, struct chat_member *m, const char *msg,
		size_t len, struct log_batch *batch, const char *log_who,
		size_t log_who_len);

/* Posts what m said since the last flush, if every member can take it
 * now: its worker calls this after each received buffer.  false when a
 * member cannot yet (it is more than half an outbox behind): the lines
 * stay in m's voice, m's worker reads nothing more, and chat_may_read
 * posts them once they fit or that member is dropped (CHAT_SLOW_MS). */
bool chat_flush(struct chat_room *room, struct chat_member *m);

/* m's session is ending (its client closed, a deadline, an error): from
 * now on its lines do not wait, and a member that cannot take them is
 * dropped.  chat_leave does this too; the server's stop does it for
 * every member.  Owner only. */
void chat_last_words(struct chat_member *m);

/* A UDP datagram's message: said as speaker name[0..name_len) to every
 * member. */
void chat_say_as(struct chat_room *room, struct chat_voice *v, const char *name,
		 size_t name_len, const char *msg, size_t len);

/* Whether sender m may read its client's next lines now: false while
 * m's voice holds lines not yet posted (they are posted here when they
 * fit) or another member is more than half an outbox behind (for at
 * most CHAT_SLOW_MS: then that member is dropped).  A sender told false
 * looks again within CHAT_RETRY_MS.  No lock taken while nobody is
 * behind and m has nothing waiting. */
bool chat_may_read(struct chat_room *room, struct chat_member *m);

/* Why the room gave up on m ("slow-reader", "no-memory"), or NULL. */
const char *chat_dropped(struct chat_room *room, struct chat_member *m);

/* The server is stopping: m gets "* server stopping"; from now on the
 * room announces no departures (everyone is leaving). */
void chat_stopping(struct chat_room *room, struct chat_member *m);

/* Leaves the room: what m said is posted first (chat_last_words), then
 * the others get "* NAME left (R)", R said for reason, the session's
 * disconnect reason.  No post reaches m's outbox after this returns.
 * Frees m's buffers. */
void chat_leave(struct chat_room *room, struct chat_member *m,
		const char *reason);

#endif
