/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chat.c - the room of mtserver --chat; the contract is in chat.h.
 */
#include "chat.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logfmt.h"
#include "logline.h"
#include "monotime.h"
#include "uignorable.h"

/* A notice or a command's reply: the server's words and at most a few
 * names, never a client's raw bytes (and a log line, LOGLINE_EVENT_MAX).  /who
 * is cut into lines this long, so that a room of thousands needs no big buffer.
 */
#define NOTICE_MAX 1024
_Static_assert(NOTICE_MAX >= LOGLINE_EVENT_MAX, "a nick line fits");

struct chat_room {
	/*
	 * lock guards: members (the list and every member's link, name,
	 * name_len, dropped, behind_since, progress_at, progress_mark,
	 * missed, turn, waiting, full_at_stop and in_room), turns, count,
	 * stopping, and the changes of behind.  It is held while posting
	 * into outboxes (memcpy, and an eventfd write that cannot block)
	 * and never across a socket call or an allocation (a member's
	 * outbox has its buffers before it joins: outbox_enable_posts).
	 *
	 * Lock order: this lock, then a member's outbox lock (outbox_post,
	 * outbox_posted and outbox_shutdown_posts take it while this one is
	 * held).  Never the other way: no outbox function takes another lock
	 * under its own.
	 */
	pthread_mutex_t lock;
	TAILQ_HEAD(chat_members, chat_member) members;
	/* Senders whose lines wait, in the order they began to wait: the
	 * first goes first (fair turns: one flooding sender cannot starve
	 * the others). */
	TAILQ_HEAD(chat_turns, chat_member) turns;
	size_t count;
	atomic_int behind; /* members with behind_since set; read without
			      the lock by chat_may_read's fast path */
	atomic_size_t members_now; /* count, for chat_members (no lock) */
	bool stopping;
	bool echo; /* set once at creation */
	/* Joins and leaves: announced by name at CHAT_NOTICES_PER_S (a
	 * burst of CHAT_NOTICE_BURST at once); past that, counted, and
	 * said together ("* N joined, M left") by the notice thread as
	 * soon as the rate allows.  Guarded by lock too. */
	double notice_tokens;
	long long notice_at;   /* ms: when tokens were brought up to date */
	uint64_t joined, left; /* counted, not yet said */
	bool closing;	       /* chat_room_free: the thread ends */
	pthread_cond_t notice_cond; /* counts to say, or closing */
	pthread_t notice_thread;
	/* --broker (chat_room_link): set before members join. */
	chat_tap_fn *tap;
	void *tap_arg;
	const char *who_note;
};

/* The longest line a voice makes: "NAME: ", escaped text, '\n'. */
static size_t line_max(size_t max_text)
{
	return CHAT_SPEAKER_MAX + 3 + LOGFMT_ESCAPED_MAX(max_text);
}

/* A voice's buffer: a batch and one longest line (voice_room). */
static size_t voice_cap(size_t max_text)
{
	return CHAT_BATCH_BYTES + line_max(max_text);
}

/* Twice a voice and the reserve, so that an inbox at most half full
 * always takes one and leaves the reserve: a voice that does not fit
 * means a member more than half behind. */
size_t chat_outbox_cap(size_t max_text)
{
	size_t twice = 2 * (voice_cap(max_text) + CHAT_RESERVE_BYTES);

	return twice > CHAT_OUTBOX_BYTES ? twice : CHAT_OUTBOX_BYTES;
}

size_t chat_member_cost(size_t max_text)
{
	return 2 * chat_outbox_cap(max_text) + voice_cap(max_text);
}

static void *notice_main(void *arg);

struct chat_room *chat_room_new(bool echo)
{
	struct chat_room *room = calloc(1, sizeof(*room));
	int err;

	if (room == NULL)
		return NULL;
	TAILQ_INIT(&room->members);
	TAILQ_INIT(&room->turns);
	room->echo = echo;
	room->notice_tokens = CHAT_NOTICE_BURST;
	room->notice_at = monotime_ms();
	err = pthread_mutex_init(&room->lock, NULL);
	if (err != 0)
		goto no_lock;
	err = monotime_cond_init(&room->notice_cond);
	if (err != 0)
		goto no_cond;
	err = pthread_create(&room->notice_thread, NULL, notice_main, room);
	if (err != 0)
		goto no_thread;
	return room;
no_thread:
	pthread_cond_destroy(&room->notice_cond);
no_cond:
	pthread_mutex_destroy(&room->lock);
no_lock:
	free(room);
	errno = err;
	return NULL;
}

void chat_room_free(struct chat_room *room)
{
	if (room == NULL)
		return;
	pthread_mutex_lock(&room->lock);
	room->closing = true;
	pthread_cond_signal(&room->notice_cond);
	pthread_mutex_unlock(&room->lock);
	pthread_join(room->notice_thread, NULL);
	pthread_cond_destroy(&room->notice_cond);
	pthread_mutex_destroy(&room->lock);
	free(room);
}

size_t chat_room_size(struct chat_room *room)
{
	size_t n;

	pthread_mutex_lock(&room->lock);
	n = room->count;
	pthread_mutex_unlock(&room->lock);
	return n;
}

void chat_voice_init(struct chat_voice *v, size_t max_text)
{
	v->buf = NULL;
	v->len = v->cap = 0;
	v->max_text = max_text;
}

void chat_voice_free(struct chat_voice *v)
{
	free(v->buf);
	v->buf = NULL;
	v->len = v->cap = 0;
}

/* Whether one more line surely fits in v's buffer (allocated here on
 * first use: CHAT_BATCH_BYTES and one longest line).  false when the
 * buffer cannot be had. */
static bool voice_room(struct chat_voice *v)
{
	if (v->buf == NULL) {
		v->cap = voice_cap(v->max_text);
		v->buf = malloc(v->cap);
		if (v->buf == NULL)
			return false;
	}
	return v->cap - v->len >= line_max(v->max_text);
}

/* Length of the blank character (uignorable.h's ublank_ranges: a space,
 * a no-break or ideographic space, U+2800...) at s[0..n) of escaped
 * text, or 0.  Escaped text holds only well-formed sequences. */
static size_t blank_at(const unsigned char *s, size_t n)
{
	unsigned cp;
	size_t len;

	if (s[0] == ' ')
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf && n >= 2) {
		cp = (s[0] & 0x1fu) << 6 | (s[1] & 0x3fu);
		len = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef && n >= 3) {
		cp = (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 |
		     (s[2] & 0x3fu);
		len = 3;
	} else {
		return 0;
	}
	for (size_t i = 0; i < ublank_ranges_count; i++)
		if (cp >= ublank_ranges[i].first && cp <= ublank_ranges[i].last)
			return len;
	return 0;
}

/*
 * Folds every run of two or more blanks in the escaped text s[0..n) into
 * one space, in place; returns the new length.  Padding is how a line
 * forges another on a screen: "sure", 71 spaces and "alice: ..." show
 * "alice: ..." at the start of the next row of an 80-column terminal.
 * Folded, the padding is gone and the text stays on its sender's row.
 * A blank alone stays as it was.  Only what the room relays is folded:
 * the log keeps what was received (chat.h).
 */
static size_t fold_blanks(char *text, size_t n)
{
	unsigned char *s = (unsigned char *)text;
	size_t i = 0, o;

	/* Most lines: ASCII with single spaces, nothing to move. */
	while (i < n && s[i] < 0x80 &&
	       !(s[i] == ' ' && i + 1 < n &&
		 (s[i + 1] == ' ' || s[i + 1] >= 0x80)))
		i++;
	o = i;
	while (i < n) {
		size_t b = blank_at(s + i, n - i), j, more, count = 1;

		if (b == 0) {
			s[o++] = s[i++];
			continue;
		}
		for (j = i + b; j < n && (more = blank_at(s + j, n - j)) > 0;
		     j += more)
			count++;
		if (count == 1) {
			memmove(s + o, s + i, b);
			o += b;
		} else {
			s[o++] = ' ';
		}
		i = j;
	}
	return o;
}

/* Appends "NAME: TEXT\n" to v's buffer, TEXT escaped and its runs of
 * blanks folded; voice_room said it fits. */
static void voice_add(struct chat_voice *v, const char *name, size_t name_len,
		      const char *msg, size_t len)
{
	char *d = v->buf + v->len;

	if (name_len > CHAT_SPEAKER_MAX)
		name_len = CHAT_SPEAKER_MAX;
	if (len > v->max_text)
		len = v->max_text;
	memcpy(d, name, name_len);
	d += name_len;
	*d++ = ':';
	*d++ = ' ';
	d += fold_blanks(d, logfmt_escape(d, msg, len));
	*d++ = '\n';
	v->len = (size_t)(d - v->buf);
}

/* The sender first in line, if any, looks again now (its worker's
 * poll(2) watches its outbox's wake descriptor): nobody is behind, so
 * its turn may have come.  So a sender that waits is let go as soon as
 * the room can take its lines, not at its next look (CHAT_RETRY_MS), and
 * the others in line stay asleep.  Room lock held. */
static void wake_first_locked(struct chat_room *room)
{
	struct chat_member *first = TAILQ_FIRST(&room->turns);

	/* A feed (chat_feed) has no outbox: its thread looks again by
	 * itself, every CHAT_RETRY_MS. */
	if (first != NULL && first->out != NULL &&
	    atomic_load_explicit(&room->behind, memory_order_relaxed) == 0)
		outbox_wake(first->out);
}

/* m's lines no longer wait for a turn: they are being posted (the
 * next in line is woken after the post, voice_post_locked).  Room lock
 * held. */
static void take_turn_locked(struct chat_room *room, struct chat_member *m)
{
	if (!m->waiting)
		return;
	TAILQ_REMOVE(&room->turns, m, turn);
	m->waiting = false;
}

/* m leaves the line without posting (dropped, or leaving the room): if
 * it was first, the next is woken.  Room lock held. */
static void leave_turns_locked(struct chat_room *room, struct chat_member *m)
{
	bool was_first = TAILQ_FIRST(&room->turns) == m;

	take_turn_locked(room, m);
	if (was_first)
		wake_first_locked(room);
}

/* m's inbox is over half full (or no longer): it is behind, and the room
 * slows its senders down (chat_may_read).  Room lock held. */
static void set_behind_locked(struct chat_room *room, struct chat_member *m,
			      bool behind)
{
	if (behind == (m->behind_since != 0))
		return;
	m->behind_since = behind ? monotime_ms() : 0;
	m->progress_at = m->behind_since;
	m->progress_mark = outbox_sent(m->out);
	atomic_fetch_add_explicit(&room->behind, behind ? 1 : -1,
				  memory_order_relaxed);
	if (!behind)
		wake_first_locked(room);
}

/* The room gives up on m: no more posts, and its worker wakes up to
 * leave.  Room lock held. */
static void drop_locked(struct chat_room *room, struct chat_member *m,
			const char *why)
{
	leave_turns_locked(room, m);
	m->dropped = why;
	set_behind_locked(room, m, false);
	outbox_shutdown_posts(m->out);
}

/* Tells m how many lines it missed, if any, before its next line.
 * false when even that does not fit.  Room lock held. */
static bool tell_missed_locked(struct chat_member *m)
{
	char line[64], count[LOGFMT_U64_MAX + 1];
	size_t n = 0;

	if (m->missed == 0)
		return true;
	count[logfmt_u64(count, m->missed)] = '\0';
	memcpy(line, "* you missed ", 13);
	n = 13;
	memcpy(line + n, count, strlen(count));
	n += strlen(count);
	memcpy(line + n, " lines (too far behind)\n", 24);
	n += 24;
	if (outbox_post(m->out, line, n) < 0)
		return false;
	m->missed = 0;
	return true;
}

/* Posts line[0..len) to m.  A post that does not fit is refused whole:
 * m misses the line (and is told so before its next one), it is never
 * dropped for it - only for making no progress (chat_may_read); once
 * the server is stopping, it gets no more.  Members' lines never come
 * here unless they fit with CHAT_RESERVE_BYTES to spare
 * (voice_post_locked, chat_say_as) or the room cannot wait: a notice, a
 * member leaving, the server stopping.  Room lock held. */
static void post_locked(struct chat_room *room, struct chat_member *m,
			const char *line, size_t len)
{
	long queued = -1;

	if (m->dropped != NULL || m->full_at_stop)
		return;
	/* errno is outbox_post's when either post fails. */
	if (tell_missed_locked(m))
		queued = outbox_post(m->out, line, len);
	if (queued >= 0) {
		if ((size_t)queued > m->out->cap / 2)
			set_behind_locked(room, m, true);
		return;
	}
	/* Stopping, everyone is leaving: a member that cannot take more
	 * gets no more (its lines stay a prefix of the room's), but is not
	 * dropped - what it was sent still goes out in the stop's flush. */
	if (errno == ENOBUFS && room->stopping)
		m->full_at_stop = true;
	else if (errno == ENOBUFS)
		m->missed++;
	/* EPIPE: the room gave up on m already. */
}

/* Posts to every member but except (which may be NULL).  Room lock
 * held. */
static void post_all_locked(struct chat_room *room,
			    const struct chat_member *except, const char *line,
			    size_t len)
{
	struct chat_member *m;

	for (m = TAILQ_FIRST(&room->members); m != NULL;
	     m = TAILQ_NEXT(m, link))
		if (m != except)
			post_locked(room, m, line, len);
}

/* Whether every member but except can take len bytes (a voice: at most
 * half an outbox less the reserve, chat_outbox_cap) now: none is more
 * than half an outbox behind.  Only a member more than half an
 * outbox behind may not, and such a member is marked behind (the post
 * that took it over half did it), so a room where nobody is behind
 * needs no look at all.  Room lock held. */
static bool all_take_locked(struct chat_room *room,
			    const struct chat_member *except, size_t len)
{
	struct chat_member *m;

	if (atomic_load_explicit(&room->behind, memory_order_relaxed) == 0)
		return true;
	for (m = TAILQ_FIRST(&room->members); m != NULL;
	     m = TAILQ_NEXT(m, link)) {
		if (m == except || m->behind_since == 0)
			continue;
		/* Nothing more while it is more than half behind: the
		 * room's posts stop at once, so that its client, which may
		 * be reading another member, gets to it (and the space
		 * above half, less a voice, stays for lines that cannot
		 * wait: chat_outbox_cap). */
		if (outbox_posted(m->out) > m->out->cap / 2 ||
		    outbox_posted(m->out) + len > m->out->cap)
			return false;
	}
	return true;
}

/* Whether m may post now, in its turn: senders that had to wait go in
 * the order they began to wait, and a sender that finds others waiting
 * waits behind them.  Room lock held. */
static bool my_turn_locked(struct chat_room *room, struct chat_member *m,
			   size_t len)
{
	const struct chat_member *except = room->echo ? NULL : m;

	if ((m->waiting ? TAILQ_FIRST(&room->turns) == m
			: TAILQ_EMPTY(&room->turns)) &&
	    all_take_locked(room, except, len)) {
		take_turn_locked(room, m);
		return true;
	}
	if (!m->waiting) {
		TAILQ_INSERT_TAIL(&room->turns, m, turn);
		m->waiting = true;
	}
	return false;
}

/* Posts what m said, if it is m's turn and every member can take it
 * now, or at any rate when m is leaving or the server stopping (nothing
 * waits then: a member that cannot take it misses it, post_locked).
 * Whether it was posted.  Room lock held. */
static bool voice_post_locked(struct chat_room *room, struct chat_member *m)
{
	struct chat_voice *v = &m->voice;

	if (m->leaving || room->stopping)
		take_turn_locked(room, m);
	else if (!my_turn_locked(room, m, v->len))
		return false;
	post_all_locked(room, room->echo ? NULL : m, v->buf, v->len);
	if (room->tap != NULL && m->in_room) /* a feed is never in_room */
		room->tap(room->tap_arg, v->buf, v->len);
	v->len = 0;
	/* The next in line goes too, if this post left nobody behind. */
	wake_first_locked(room);
	return true;
}

/* Whether behind member m has made progress: its socket took
 * CHAT_PROGRESS_BYTES since the last mark, which then moves.  Room lock
 * held. */
static bool progressed_locked(struct chat_member *m, long long now)
{
	uint64_t sent = outbox_sent(m->out);

	if (sent - m->progress_mark < CHAT_PROGRESS_BYTES)
		return now - m->progress_at < CHAT_SLOW_MS;
	m->progress_mark = sent;
	m->progress_at = now;
	return true;
}

bool chat_may_read(struct chat_room *room, struct chat_member *self)
{
	struct chat_member *m;
	long long now;
	bool ok = true;

	/* The common case, a room where nobody is behind and self has
	 * nothing waiting, takes no lock. */
	if (atomic_load_explicit(&room->behind, memory_order_relaxed) == 0 &&
	    self->voice.len == 0)
		return true;
	pthread_mutex_lock(&room->lock);
	/* A member with nothing to say has only itself to look at: it may
	 * have caught up (its worker has just sent).  The senders held back
	 * look at everyone (below), so that each member's worker does not
	 * walk the whole room every time it sends while one is behind. */
	if (self->voice.len == 0) {
		if (self->behind_since != 0 &&
		    outbox_posted(self->out) <= self->out->cap / 2)
			set_behind_locked(room, self, false);
		pthread_mutex_unlock(&room->lock);
		return true;
	}
	now = monotime_ms();
	for (m = TAILQ_FIRST(&room->members); m != NULL;
	     m = TAILQ_NEXT(m, link)) {
		if (m->behind_since == 0)
			continue;
		if (outbox_posted(m->out) <= m->out->cap / 2)
			set_behind_locked(room, m, false);
		else if (!progressed_locked(m, now))
			drop_locked(room, m, "slow-reader");
	}
	/* What self read but could not post yet goes first. */
	if (self->voice.len > 0 && !voice_post_locked(room, self))
		ok = false;
	pthread_mutex_unlock(&room->lock);
	return ok;
}

/* Builds a notice: "* ", the parts (a NULL-ended list), '\n'; returns
 * its length.  The parts are the server's words and valid names:
 * NOTICE_MAX is far above what they add up to, and a longer notice
 * would be cut, not overrun. */
static size_t notice_parts(char *buf, const char *const *parts)
{
	size_t n = 2;

	memcpy(buf, "* ", 2);
	for (; *parts != NULL; parts++) {
		size_t k = strlen(*parts);

		if (k > NOTICE_MAX - 1 - n)
			k = NOTICE_MAX - 1 - n;
		memcpy(buf + n, *parts, k);
		n += k;
	}
	buf[n++] = '\n';
	return n;
}

#define notice(buf, ...)                                                       \
	notice_parts((buf), (const char *const[]){__VA_ARGS__, NULL})

/* Posts a notice to m alone, in room order. */
static void reply(struct chat_room *room, struct chat_member *m,
		  const char *text)
{
	char line[NOTICE_MAX];
	size_t n = notice(line, text);

	pthread_mutex_lock(&room->lock);
	post_locked(room, m, line, n);
	pthread_mutex_unlock(&room->lock);
}

void chat_member_init(struct chat_member *m, struct outbox *out, uint64_t id,
		      size_t max_text)
{
	memset(m, 0, sizeof(*m));
	m->out = out;
	m->id = id;
	chat_voice_init(&m->voice, max_text);
	memcpy(m->name, "user", 4);
	m->name_len = 4 + logfmt_u64(m->name + 4, id);
	m->name[m->name_len] = '\0';
}

/* Whether a join or leave may be announced now (the room's rate), and
 * if so takes its token.  Room lock held. */
static bool notice_token_locked(struct chat_room *room, long long now)
{
	room->notice_tokens +=
		(double)(now - room->notice_at) * CHAT_NOTICES_PER_S / 1000;
	if (room->notice_tokens > CHAT_NOTICE_BURST)
		room->notice_tokens = CHAT_NOTICE_BURST;
	room->notice_at = now;
	if (room->notice_tokens < 1)
		return false;
	room->notice_tokens -= 1;
	return true;
}

/* A join (or a leave) announced as line[0..len) to all but except, if
 * the rate allows and none is counted before it; else counted for the
 * notice thread.  Room lock held. */
static void announce_locked(struct chat_room *room,
			    const struct chat_member *except, const char *line,
			    size_t len, bool join)
{
	if (room->joined + room->left == 0 &&
	    notice_token_locked(room, monotime_ms())) {
		post_all_locked(room, except, line, len);
		return;
	}
	if (join)
		room->joined++;
	else
		room->left++;
	pthread_cond_signal(&room->notice_cond);
}

/* Says the counted joins and leaves: "* N joined, M left".  Room lock
 * held. */
static void say_counts_locked(struct chat_room *room)
{
	char line[NOTICE_MAX], joined[LOGFMT_U64_MAX + 1],
		left[LOGFMT_U64_MAX + 1];
	size_t n;

	joined[logfmt_u64(joined, room->joined)] = '\0';
	left[logfmt_u64(left, room->left)] = '\0';
	if (room->left == 0)
		n = notice(line, joined, " joined");
	else if (room->joined == 0)
		n = notice(line, left, " left");
	else
		n = notice(line, joined, " joined, ", left, " left");
	post_all_locked(room, NULL, line, n);
	room->joined = room->left = 0;
}

/* The notice thread: says the counted joins and leaves as soon as the
 * room's rate allows; nothing once the server is stopping (everyone is
 * leaving). */
static void *notice_main(void *arg)
{
	struct chat_room *room = arg;

	pthread_mutex_lock(&room->lock);
	while (!room->closing) {
		long long now = monotime_ms(), wait_ms;
		struct timespec until;

		if (room->stopping)
			room->joined = room->left = 0;
		if (room->joined + room->left == 0) {
			pthread_cond_wait(&room->notice_cond, &room->lock);
			continue;
		}
		if (notice_token_locked(room, now)) {
			say_counts_locked(room);
			continue;
		}
		/* Until the next token, at CHAT_NOTICES_PER_S. */
		wait_ms = 1 + (long long)((1 - room->notice_tokens) * 1000 /
					  CHAT_NOTICES_PER_S);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&room->notice_cond, &room->lock,
					     &until);
	}
	pthread_mutex_unlock(&room->lock);
	return NULL;
}

void chat_join(struct chat_room *room, struct chat_member *m)
{
	char line[NOTICE_MAX], count[LOGFMT_U64_MAX + 1];
	size_t n;

	pthread_mutex_lock(&room->lock);
	TAILQ_INSERT_TAIL(&room->members, m, link);
	m->in_room = true;
	room->count++;
	atomic_store_explicit(&room->members_now, room->count,
			      memory_order_relaxed);
	count[logfmt_u64(count, room->count)] = '\0';
	n = notice(line, "welcome, you are ", m->name, "; in the room: ", count,
		   "; /help for commands");
	post_locked(room, m, line, n);
	n = notice(line, m->name, " joined");
	announce_locked(room, m, line, n, true);
	pthread_mutex_unlock(&room->lock);
}

/* What the others read in "* NAME left (R)" for a disconnect reason. */
static const char *leave_text(const char *reason)
{
	static const char *const texts[][2] = {
		{"quit", "quit"},
		{"client-closed", "closed"},
		{"reset", "reset"},
		{"dead-peer", "link lost"},
		{"idle-timeout", "idle"},
		{"line-timeout", "idle"},
		{"slow-reader", "too slow"},
		{"send-timeout", "too slow"},
		{"no-memory", "out of memory"},
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strcmp(reason, texts[i][0]) == 0)
			return texts[i][1];
	return "error";
}

void chat_leave(struct chat_room *room, struct chat_member *m,
		const char *reason)
{
	char line[NOTICE_MAX];
	size_t n;

	if (m->in_room) {
		m->leaving = true;
		(void)chat_flush(room, m);
		n = notice(line, m->name, " left (", leave_text(reason), ")");
		pthread_mutex_lock(&room->lock);
		set_behind_locked(room, m, false);
		leave_turns_locked(room, m);
		TAILQ_REMOVE(&room->members, m, link);
		m->in_room = false;
		room->count--;
		atomic_store_explicit(&room->members_now, room->count,
				      memory_order_relaxed);
		if (!room->stopping)
			announce_locked(room, NULL, line, n, false);
		pthread_mutex_unlock(&room->lock);
	}
	chat_voice_free(&m->voice);
}

size_t chat_members(const struct chat_room *room)
{
	return atomic_load_explicit(&room->members_now, memory_order_relaxed);
}

const char *chat_dropped(struct chat_room *room, struct chat_member *m)
{
	const char *why;

	pthread_mutex_lock(&room->lock);
	why = m->dropped;
	pthread_mutex_unlock(&room->lock);
	return why;
}

void chat_stopping(struct chat_room *room, struct chat_member *m)
{
	static const char line[] = "* server stopping\n";

	pthread_mutex_lock(&room->lock);
	room->stopping = true;
	post_locked(room, m, line, sizeof(line) - 1);
	pthread_mutex_unlock(&room->lock);
}

bool chat_say_as(struct chat_room *room, struct chat_voice *v, const char *name,
		 size_t name_len, const char *msg, size_t len)
{
	bool said;

	if (!voice_room(v))
		return false;
	voice_add(v, name, name_len, msg, len);
	pthread_mutex_lock(&room->lock);
	said = all_take_locked(room, NULL, v->len);
	if (said)
		post_all_locked(room, NULL, v->buf, v->len);
	if (said && room->tap != NULL)
		room->tap(room->tap_arg, v->buf, v->len);
	pthread_mutex_unlock(&room->lock);
	v->len = 0;
	return said;
}

bool chat_flush(struct chat_room *room, struct chat_member *m)
{
	bool posted;

	if (m->voice.len == 0)
		return true;
	pthread_mutex_lock(&room->lock);
	posted = voice_post_locked(room, m);
	pthread_mutex_unlock(&room->lock);
	return posted;
}

bool chat_ready(struct chat_room *room, struct chat_member *m, bool alone)
{
	size_t said = m->voice.len;

	if (said == 0 || (!alone && said <= CHAT_BATCH_BYTES))
		return true;
	return chat_flush(room, m);
}

void chat_last_words(struct chat_member *m)
{
	m->leaving = true;
}

bool chat_is_command(const char *msg, size_t len)
{
	return len >= 1 && msg[0] == '/' && !(len >= 2 && msg[1] == '/');
}

/* A member's line, for the others (and for itself when the room
 * echoes): kept with the lines of the same received buffer, which go
 * out together (chat_flush), one post per member for all of them.
 * chat_ready made room for it.  The name is read without the lock: only
 * this thread, the owner, ever writes it. */
static void say(struct chat_room *room, struct chat_member *m, const char *msg,
		size_t len)
{
	if (!voice_room(&m->voice)) {
		reply(room, m, "error: out of memory, not said");
		return;
	}
	voice_add(&m->voice, m->name, m->name_len, msg, len);
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/*
 * A name's skeleton: what it looks like, for uniqueness.  Names are ASCII
 * (name_char), so the fold is ASCII's own confusables, those that common
 * fonts draw alike or nearly: capital I, digit 1, '|' and l (and so i
 * and L, since letter case is folded too: the fold must be one
 * equivalence); digit 0 and o; "rn" and m; "vv" and w.  Two names with the
 * same skeleton cannot be in the room at once ("aIice" while "alice" is
 * there).  out needs len bytes; returns the skeleton's length.
 */
static size_t name_skeleton(char *out, const char *name, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c == 'I' || c == 'i' || c == 'L' || c == '1' || c == '|')
			c = 'l';
		else if (c == '0')
			c = 'o';
		else if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (n > 0 && ((out[n - 1] == 'r' && c == 'n') ||
			      (out[n - 1] == 'v' && c == 'v')))
			out[n - 1] = c == 'n' ? 'm' : 'w';
		else
			out[n++] = c;
	}
	return n;
}

/* "user" and digits, or what looks like it ("userI2", "usero"): the
 * default names, kept for the connections they name. */
static bool reserved_name(const char *name, size_t len)
{
	char skel[CHAT_NAME_MAX];
	size_t n;

	if (len <= 4 || len > CHAT_NAME_MAX)
		return false;
	n = name_skeleton(skel, name, len);
	if (n <= 4 || memcmp(skel, "user", 4) != 0)
		return false;
	for (size_t i = 4; i < n; i++)
		if ((skel[i] < '2' || skel[i] > '9') && skel[i] != 'l' &&
		    skel[i] != 'o')
			return false;
	return true;
}

/* NULL when name[0..len) may be a name, else the error to tell. */
static const char *name_error(const char *name, size_t len)
{
	if (len == 0)
		return "error: /nick needs a name";
	if (len > CHAT_NAME_MAX)
		return "error: a name is at most 24 characters";
	for (size_t i = 0; i < len; i++)
		if (!name_char(name[i]))
			return "error: a name is letters, digits, '_', '.' "
			       "and '-' only";
	if (reserved_name(name, len))
		return "error: names user<N> are kept for new members";
	return NULL;
}

/* Taken by another member: the same skeleton (name_skeleton), letter
 * case and look-alikes aside.  Room lock held. */
static bool name_taken_locked(struct chat_room *room,
			      const struct chat_member *self, const char *name,
			      size_t len)
{
	char want[CHAT_NAME_MAX], skel[CHAT_NAME_MAX];
	size_t want_len = name_skeleton(want, name, len);
	const struct chat_member *m;

	for (m = TAILQ_FIRST(&room->members); m != NULL;
	     m = TAILQ_NEXT(m, link))
		if (m != self &&
		    name_skeleton(skel, m->name, m->name_len) == want_len &&
		    memcmp(skel, want, want_len) == 0)
			return true;
	return false;
}

static void nick(struct chat_room *room, struct chat_member *m, const char *arg,
		 size_t len, struct log_batch *batch, const char *who,
		 size_t who_len)
{
	char name[CHAT_NAME_MAX + 1], old[CHAT_NAME_MAX + 1];
	char line[NOTICE_MAX];
	const char *err = name_error(arg, len);
	size_t n;

	if (err != NULL) {
		reply(room, m, err);
		return;
	}
	memcpy(name, arg, len);
	name[len] = '\0';
	pthread_mutex_lock(&room->lock);
	if (name_taken_locked(room, m, name, len)) {
		n = notice(line, "error: ", name, " is taken");
		post_locked(room, m, line, n);
		pthread_mutex_unlock(&room->lock);
		return;
	}
	memcpy(old, m->name, m->name_len + 1);
	memcpy(m->name, name, len + 1);
	m->name_len = len;
	n = notice(line, "you are now ", name);
	post_locked(room, m, line, n);
	n = notice(line, old, " is now ", name);
	post_all_locked(room, m, line, n);
	pthread_mutex_unlock(&room->lock);
	/* Stamped here: with -q, the session stamps no message lines. */
	log_batch_stamp(batch);
	log_batch_line(batch, line,
		       logline_nick(line, LOGLINE_EVENT_MAX, batch->ts, who,
				    who_len, name));
}

/* Appends s to line[*n..] if it fits below NOTICE_MAX - 1; else posts
 * the line so far to m and starts a new "* " line with s. */
static void who_add(struct chat_room *room, struct chat_member *m, char *line,
		    size_t *n, const char *s, size_t len)
{
	if (*n + len > NOTICE_MAX - 1) {
		line[(*n)++] = '\n';
		post_locked(room, m, line, *n);
		memcpy(line, "* ", 2);
		*n = 2;
	}
	memcpy(line + *n, s, len);
	*n += len;
}

/* "* in the room (N): a, b (you), c", cut into lines of NOTICE_MAX. */
static void who(struct chat_room *room, struct chat_member *self)
{
	char line[NOTICE_MAX], count[LOGFMT_U64_MAX + 1];
	const struct chat_member *m;
	size_t n;
	bool first = true;

	pthread_mutex_lock(&room->lock);
	count[logfmt_u64(count, room->count)] = '\0';
	n = notice(line, "in the room (", count, "): ") - 1;
	for (m = TAILQ_FIRST(&room->members); m != NULL;
	     m = TAILQ_NEXT(m, link)) {
		if (m->dropped != NULL)
			continue;
		if (!first)
			who_add(room, self, line, &n, ", ", 2);
		first = false;
		who_add(room, self, line, &n, m->name, m->name_len);
		if (m == self)
			who_add(room, self, line, &n, " (you)", 6);
	}
	line[n++] = '\n';
	post_locked(room, self, line, n);
	if (room->who_note != NULL) {
		n = notice(line, room->who_note);
		post_locked(room, self, line, n);
	}
	pthread_mutex_unlock(&room->lock);
}

/* msg[0..len) without spaces at both ends. */
static const char *trim(const char *msg, size_t *len)
{
	while (*len > 0 && msg[0] == ' ') {
		msg++;
		(*len)--;
	}
	while (*len > 0 && msg[*len - 1] == ' ')
		(*len)--;
	return msg;
}

static bool is_command(const char *msg, size_t len, const char *word,
		       const char **arg, size_t *arg_len)
{
	size_t w = strlen(word);

	if (len < w || memcmp(msg, word, w) != 0 || (len > w && msg[w] != ' '))
		return false;
	*arg_len = len - w;
	*arg = trim(msg + w, arg_len);
	return true;
}

void chat_input(struct chat_room *room, struct chat_member *m, const char *msg,
		size_t len, struct log_batch *batch, const char *log_who,
		size_t log_who_len)
{
	const char *arg;
	size_t arg_len;

	if (!chat_is_command(msg, len)) {
		if (len >= 2 && msg[0] == '/') { /* "//text" says "/text" */
			msg++;
			len--;
		}
		say(room, m, msg, len);
		return;
	}
	/* What was said before a command went before it (chat_ready). */
	if (is_command(msg, len, "/nick", &arg, &arg_len)) {
		nick(room, m, arg, arg_len, batch, log_who, log_who_len);
	} else if (is_command(msg, len, "/who", &arg, &arg_len)) {
		who(room, m);
	} else if (is_command(msg, len, "/help", &arg, &arg_len)) {
		reply(room, m,
		      "commands: /nick NAME (1-24 of A-Z a-z 0-9 _ . -), "
		      "/who, /help, quit; //text says /text");
	} else {
		reply(room, m, "error: unknown command (try /help)");
	}
}

void chat_room_link(struct chat_room *room, chat_tap_fn *tap, void *arg,
		    const char *who_note)
{
	room->tap = tap;
	room->tap_arg = arg;
	room->who_note = who_note;
}

size_t chat_feed(struct chat_member *feed, const char *lines, size_t len)
{
	struct chat_voice *v = &feed->voice;
	size_t taken = 0;

	(void)voice_room(v); /* allocates on first use */
	if (v->buf == NULL)
		return 0;
	while (taken < len) {
		const char *nl = memchr(lines + taken, '\n', len - taken);
		size_t n = nl != NULL ? (size_t)(nl - lines) + 1 - taken
				      : len - taken;

		if (n <= v->cap - v->len) {
			memcpy(v->buf + v->len, lines + taken, n);
			v->len += n;
		} else if (v->len == 0) { /* longer than a voice: cut */
			memcpy(v->buf, lines + taken, v->cap - 1);
			v->buf[v->cap - 1] = '\n';
			v->len = v->cap;
		} else {
			break;
		}
		taken += n;
	}
	return taken;
}

void chat_notice_all(struct chat_room *room, const char *text)
{
	char line[NOTICE_MAX];
	size_t n = notice(line, text);

	pthread_mutex_lock(&room->lock);
	post_all_locked(room, NULL, line, n);
	pthread_mutex_unlock(&room->lock);
}
