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
 * never waits for a receiver.
 *
 * The rule when the room is behind: the sender waits (TCP) or its line
 * is dropped and counted (UDP), never the reader.  A member whose inbox
 * is more than half full is behind: a sender's lines are then posted
 * only once no member is more than half behind (chat_flush); until then they
 * wait in its voice, the frame it was reading waits paused (chat_ready,
 * FRAME_PAUSE), and it reads nothing more from its client (TCP pushes back on
 * it).  Senders that wait take turns, first come first served (a FIFO of
 * voices), so a flooder gets no more turns than anyone else; a turn costs
 * one wake-up (the first in line is woken once nobody is behind, and each
 * sender that posts wakes the next), not a timer.  A member is
 * dropped (its worker leaves with reason=slow-reader, the others read "* NAME
 * left (too slow)") only when it is behind and its socket took fewer than
 * CHAT_PROGRESS_BYTES in CHAT_SLOW_MS: no progress, whatever anyone
 * sends.  A member that reads, however slowly above that, sets the
 * room's pace.  Lines that cannot wait (a notice, a member leaving, the
 * server stopping) use the space above half; a member that cannot take
 * one even so misses it and is told "* you missed N lines (too far behind)"
 * before its next line; at the stop, such a member just gets no more
 * lines and what it was sent goes out in the stop's flush.  A UDP line
 * (--chat-udp) is said only when every member can take it.
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
 *   * lines from other servers were lost: N   (--broker: chat_notice_all)
 * A name is 1..CHAT_NAME_MAX of [A-Za-z0-9_.-], so a message line never
 * starts with "* ", and unique by its look: names whose ASCII confusable
 * skeletons match (aIice, a1ice, ALICE and alice) are one name.  The default
 * name is "user" and the connection number (the log's #N), and names of that
 * form are kept for it; a UDP sender (--chat-udp) speaks as
 * "udp?:ADDRESS:PORT" (unverified: a UDP source can be forged) and cannot
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
 * stop reading their clients: TCP pushes back on them) for as long as
 * it makes progress: its socket takes at least CHAT_PROGRESS_BYTES in
 * every CHAT_SLOW_MS.  One that does not is dropped ("too slow"),
 * whatever anyone sends.  So a member that reads at 16 KB/s or more is
 * never dropped (the room goes at its pace), and one that stopped
 * reading, or trickles, costs the room a pause of CHAT_SLOW_MS, not a
 * stall.  Long enough for a reader on a loaded machine to catch up. */
#define CHAT_SLOW_MS	    2000
#define CHAT_PROGRESS_BYTES (32 * (size_t)1024)
/* Inbox room above half and a voice kept for the lines that cannot
 * wait (notices, a leaving member's last lines): a member behind misses
 * one of those (and is told "* you missed N lines") only when this much
 * of them came while it was behind (chat_outbox_cap). */
#define CHAT_RESERVE_BYTES (64 * (size_t)1024)
/* A sender posts the lines of one received buffer together (one lock,
 * one post per member); past this many bytes of them, at once. */
#define CHAT_BATCH_BYTES (64 * (size_t)1024)
/* --chat-udp: lines one UDP source address may say a second (a
 * second's worth at once).  A line over the rate is logged and
 * counted, not said. */
#define CHAT_UDP_LINES_PER_S 10
/* Joins and leaves announced by name: CHAT_NOTICE_BURST at once, then
 * CHAT_NOTICES_PER_S.  Past that they are counted and said together,
 * "* N joined, M left", at the same rate: under churn a member reads a
 * few lines a second, not one per connection, and a join costs the
 * room one post, not one per member. */
#define CHAT_NOTICE_BURST  8
#define CHAT_NOTICES_PER_S 10
/* How often a member whose socket's send buffer is full tries to send
 * more (the room counts its progress in what the socket takes). */
#define CHAT_NUDGE_MS 50
/* How often a held-back sender looks again at the room, to drop the
 * members that make no progress: its turn itself wakes it (the room
 * wakes the first sender in line as soon as nobody is behind), so this
 * is not how soon it goes. */
#define CHAT_RETRY_MS 100

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
	long long progress_at;	/* while behind: when its socket had last
				   taken CHAT_PROGRESS_BYTES more ... */
	uint64_t progress_mark; /* ... than this (outbox_sent) */
	uint64_t missed;	/* lines it could not take, not yet told */
	TAILQ_ENTRY(chat_member) turn; /* in the room's turns, waiting */
	bool waiting;		       /* its voice waits for its turn */
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

/* Bytes a member may come to hold, whether or not it ever speaks: its
 * outbox and inbox (chat_outbox_cap each) and its voice.  A server
 * charges all of it to its budget as the member joins, so that a
 * member once welcomed is never turned away for memory later. */
size_t chat_member_cost(size_t max_text);

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

/* Posts what m said since the last flush, if it is m's turn (no sender
 * waiting before it) and every member can take it now: its worker calls
 * this after each received buffer.  false when not: the lines stay in
 * m's voice, m takes its place in line, its worker reads nothing more,
 * and chat_may_read posts them in m's turn. */
bool chat_flush(struct chat_room *room, struct chat_member *m);

/* m's session is ending (its client closed, a deadline, an error): from
 * now on its lines do not wait, and a member that cannot take them is
 * dropped.  chat_leave does this too; the server's stop does it for
 * every member.  Owner only. */
void chat_last_words(struct chat_member *m);

/* A UDP datagram's message (--chat-udp): said as speaker
 * name[0..name_len) to every member, if every member can take it now.
 * A UDP sender cannot be held back, so when a member is behind (more
 * than half an outbox), the line is not said at all: false (the caller
 * counts it), and no member is ever dropped for it; false also when the
 * voice's buffer cannot be had. */
bool chat_say_as(struct chat_room *room, struct chat_voice *v, const char *name,
		 size_t name_len, const char *msg, size_t len);

/* Whether sender m may read its client's next lines now: false while
 * m's voice holds lines not yet posted (they are posted here in m's
 * turn, once every member can take them).  Also drops the members that
 * are behind and made no progress (CHAT_PROGRESS_BYTES in CHAT_SLOW_MS).
 * A sender told false is woken (outbox_wake on its outbox) when its
 * turn may have come, and looks again within CHAT_RETRY_MS anyway.  No
 * lock taken while nobody is behind and m has nothing waiting; a member
 * with nothing waiting looks only at itself. */
bool chat_may_read(struct chat_room *room, struct chat_member *m);

/* Why the room gave up on m ("slow-reader"), or NULL. */
const char *chat_dropped(struct chat_room *room, struct chat_member *m);

/* Members in the room now; any thread, without the room's lock (the
 * metrics endpoint reads it). */
size_t chat_members(const struct chat_room *room);

/* The server is stopping: m gets "* server stopping"; from now on the
 * room announces no departures (everyone is leaving). */
void chat_stopping(struct chat_room *room, struct chat_member *m);

/* Leaves the room: what m said is posted first (chat_last_words), then
 * the others get "* NAME left (R)", R said for reason, the session's
 * disconnect reason.  No post reaches m's outbox after this returns.
 * Frees m's buffers. */
void chat_leave(struct chat_room *room, struct chat_member *m,
		const char *reason);

/* ---- joining the room to other servers' (--broker, broker.h) ---- */

/* Called under the room's lock with each batch of lines said by a member
 * of this room (or a --chat-udp sender), "NAME: TEXT\n"..., in the
 * room's order: it may copy them and signal, nothing else (no wait, no
 * allocation, no room call). */
typedef void chat_tap_fn(void *arg, const char *lines, size_t len);

/* Sets the tap and what /who adds about the members it cannot list
 * (who_note, kept: "this server is ..."); main thread, before members
 * join. */
void chat_room_link(struct chat_room *room, chat_tap_fn *tap, void *arg,
		    const char *who_note);

/* A feed: lines said elsewhere, a voice that is not a member (prepared
 * with chat_member_init(feed, NULL, 0, max_text), never joined): its
 * lines go out in their turn like a member's, when chat_may_read(room,
 * feed) says true, and are not tapped.  Appends the whole lines of
 * lines[0..len) (each ending in '\n') that fit its voice now; returns the
 * bytes taken: 0 when the voice is full (post it first) or cannot be
 * had.  A line longer than a whole voice is cut. */
size_t chat_feed(struct chat_member *feed, const char *lines, size_t len);

/* "* TEXT" to every member now, as a notice that cannot wait. */
void chat_notice_all(struct chat_room *room, const char *text);

#endif
