/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_chat.c - the chat room's command and name parsing (chat.h), with
 * whatever a member may type.
 *
 * Input: byte 0 picks max_text (1..256, so cut lines are common); the
 * rest is member A's input, cut into messages at '\n' as the framing
 * would, each given to chat_input, the room flushed after each.  Member
 * B listens, and both read all they are sent, so the room must never
 * hold A back (chat_ready, chat_flush).  Oracles, on the bytes A and B receive:
 * whole lines only, no control byte but the '\n' ending each, and every line is
 * either the room's own ("* ...") or "NAME: text" with NAME one of the names
 * the room allows ([A-Za-z0-9_.-], at most CHAT_NAME_MAX bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chat.h"
#include "fuzz.h"
#include "log.h"
#include "logline.h"
#include "outbox.h"

#define WHO	"tcp 127.0.0.1:1 #1"
#define MAX_OUT (1 << 22) /* more than the two outboxes hold */

struct end {
	int fds[2]; /* [0]: the server's side, [1]: the client's */
	struct outbox out;
	struct chat_member m;
};

static struct logger *logger;

static void end_open(struct end *e, struct chat_room *room, uint64_t id,
		     size_t max_text)
{
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, e->fds) == 0);
	FUZZ_CHECK(fcntl(e->fds[1], F_SETFL, O_NONBLOCK) == 0);
	outbox_init(&e->out, e->fds[0], chat_outbox_cap(max_text));
	FUZZ_CHECK(outbox_enable_posts(&e->out) == 0);
	chat_member_init(&e->m, &e->out, id, max_text);
	chat_join(room, &e->m);
}

/* Sends what e's outbox holds and reads it on the client's side, into
 * buf[*len..): a socket buffer at a time, so nothing is left behind. */
static void end_drain(struct end *e, char *buf, size_t *len)
{
	for (;;) {
		long kept = outbox_flush(&e->out);
		ssize_t n;

		FUZZ_CHECK(kept >= 0);
		while ((n = read(e->fds[1], buf + *len, MAX_OUT - *len)) > 0)
			*len += (size_t)n;
		FUZZ_CHECK(n == -1 && errno == EAGAIN);
		if (kept == 0 && outbox_posted(&e->out) == 0)
			return;
	}
}

static int name_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* The oracles, on everything one client received. */
static void check_lines(const char *buf, size_t len)
{
	size_t i = 0;

	FUZZ_CHECK(len == 0 || buf[len - 1] == '\n');
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t end = (size_t)(nl - buf), name = 0;

		for (size_t k = i; k < end; k++) {
			unsigned char c = (unsigned char)buf[k];

			FUZZ_CHECK(c >= 0x20 && c != 0x7f);
		}
		if (end - i >= 2 && buf[i] == '*' && buf[i + 1] == ' ') {
			i = end + 1;
			continue;
		}
		while (i + name < end &&
		       name_byte((unsigned char)buf[i + name]))
			name++;
		FUZZ_CHECK(name >= 1 && name <= CHAT_NAME_MAX);
		FUZZ_CHECK(end - i >= name + 2 && buf[i + name] == ':' &&
			   buf[i + name + 1] == ' ');
		i = end + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char got_a[MAX_OUT], got_b[MAX_OUT];
	size_t max_text, len_a = 0, len_b = 0;
	struct chat_room *room;
	struct log_batch batch;
	struct end a, b;
	const char *p, *end;

	if (size < 1)
		return 0;
	if (logger == NULL) {
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

		FUZZ_CHECK(fd >= 0);
		logger = log_open(fd, LOGLINE_EVENT_MAX);
		FUZZ_CHECK(logger != NULL);
	}
	max_text = 1 + data[0];
	room = chat_room_new(data[0] & 1);
	FUZZ_CHECK(room != NULL);
	FUZZ_CHECK(log_batch_init(&batch, logger, max_text) == 0);
	end_open(&a, room, 1, max_text);
	end_open(&b, room, 2, max_text);
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t full = (size_t)((nl != NULL ? nl : end) - p);
		size_t len = full < max_text ? full : max_text;

		/* The session ends at "quit" rather than telling the room. */
		/* Both ends keep up: the room never holds A back. */
		if (!(full == 4 && memcmp(p, "quit", 4) == 0)) {
			FUZZ_CHECK(chat_ready(room, &a.m,
					      chat_is_command(p, len)));
			chat_input(room, &a.m, p, len, &batch, WHO,
				   strlen(WHO));
			FUZZ_CHECK(chat_flush(room, &a.m));
			log_batch_flush(&batch);
		}
		end_drain(&a, got_a, &len_a);
		end_drain(&b, got_b, &len_b);
		p += full + 1;
	}
	chat_leave(room, &a.m, "quit");
	end_drain(&b, got_b, &len_b);
	chat_leave(room, &b.m, "quit");
	check_lines(got_a, len_a);
	check_lines(got_b, len_b);
	for (int i = 0; i < 2; i++) {
		struct end *e = i == 0 ? &a : &b;

		outbox_free(&e->out);
		close(e->fds[0]);
		close(e->fds[1]);
	}
	log_batch_free(&batch);
	chat_room_free(room);
	return 0;
}
