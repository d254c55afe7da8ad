/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fmsg.c - see fmsg.h.
 *
 * Generation is on flood's hot path (one-way mode formats thousands of
 * messages per send()), so it converts numbers by hand instead of
 * calling snprintf().  The log check is written for speed too: memchr()
 * over a mapped file, a few byte comparisons per line, one bit per
 * message.  Lines are read with the server's own reader (logline.h).
 */
#include "fmsg.h"

#include "logline.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned digits(uint64_t v)
{
	unsigned n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* Writes v in decimal at p (exactly digits(v) bytes, no NUL). */
static char *put_decimal(char *p, uint64_t v)
{
	unsigned n = digits(v), i;

	for (i = n; i > 0; i--) {
		p[i - 1] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

size_t fmsg_header_len(uint32_t client, uint64_t seq)
{
	/* 'c' digits ' ' 'm' digits ' ' */
	return 4 + digits(client) + digits(seq);
}

size_t fmsg_min_size(uint32_t nclients, uint64_t nseq)
{
	return fmsg_header_len(nclients - 1, nseq - 1) + 1;
}

/* The message's text, without its '\n': len bytes at p. */
static void put_text(char *p, size_t len, uint32_t client, uint64_t seq)
{
	size_t hlen = fmsg_header_len(client, seq);

	*p++ = 'c';
	p = put_decimal(p, client);
	*p++ = ' ';
	*p++ = 'm';
	p = put_decimal(p, seq);
	*p++ = ' ';
	memset(p, 'x', len - hlen);
}

int fmsg_format(char *buf, size_t size, uint32_t client, uint64_t seq)
{
	if (size < fmsg_header_len(client, seq) + 1) {
		errno = EINVAL;
		return -1;
	}
	put_text(buf, size - 1, client, seq);
	buf[size - 1] = '\n';
	return 0;
}

size_t fmsg_octet_size(size_t size)
{
	return digits(size - 1) + 1 + size - 1;
}

int fmsg_format_octet(char *buf, size_t size, uint32_t client, uint64_t seq)
{
	char *p;

	if (size < fmsg_header_len(client, seq) + 1) {
		errno = EINVAL;
		return -1;
	}
	p = put_decimal(buf, size - 1);
	*p++ = ' ';
	put_text(p, size - 1, client, seq);
	return 0;
}

/* Parses decimal digits at *pp (no sign, no leading zeros except "0",
 * at most max); advances *pp.  0 or -1. */
static int get_decimal(const char **pp, const char *end, uint64_t max,
		       uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (p == end || *p < '0' || *p > '9')
		return -1;
	if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
		return -1; /* "c017" is not what fmsg_format writes */
	while (p < end && *p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');

		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
		p++;
	}
	*pp = p;
	*out = v;
	return 0;
}

int fmsg_parse(const char *text, size_t len, uint32_t *client, uint64_t *seq)
{
	const char *p = text, *end = text + len;
	uint64_t c, s;

	if (p == end || *p++ != 'c')
		return -1;
	if (get_decimal(&p, end, UINT32_MAX, &c) == -1)
		return -1;
	if (end - p < 2 || p[0] != ' ' || p[1] != 'm')
		return -1;
	p += 2;
	if (get_decimal(&p, end, UINT64_MAX, &s) == -1)
		return -1;
	if (p == end || *p++ != ' ')
		return -1;
	for (; p < end; p++) {
		if (*p != 'x')
			return -1;
	}
	*client = (uint32_t)c;
	*seq = s;
	return 0;
}

/* ---- bitmap helpers: bit i lives in word i / 64, bit i % 64 ---- */

static int bit_test_set(uint64_t *bm, uint64_t i)
{
	uint64_t mask = 1ull << (i % 64);
	int was = (bm[i / 64] & mask) != 0;

	bm[i / 64] |= mask;
	return was;
}

static int bit_get(const uint64_t *bm, uint64_t i)
{
	return (bm[i / 64] >> (i % 64)) & 1;
}

/* Number of set bits in [a, b).  Whole words go through popcount, so a
 * perfect run of millions of messages is counted in milliseconds. */
static uint64_t range_popcount(const uint64_t *bm, uint64_t a, uint64_t b)
{
	uint64_t n = 0;

	while (a < b && a % 64 != 0)
		n += (uint64_t)bit_get(bm, a++);
	while (b - a >= 64) {
		n += (uint64_t)__builtin_popcountll(bm[a / 64]);
		a += 64;
	}
	while (a < b)
		n += (uint64_t)bit_get(bm, a++);
	return n;
}

/* First clear bit in [a, b), or b when there is none. */
static uint64_t range_next_zero(const uint64_t *bm, uint64_t a, uint64_t b)
{
	while (a < b) {
		if (a % 64 == 0 && b - a >= 64 && bm[a / 64] == UINT64_MAX) {
			a += 64;
			continue;
		}
		if (!bit_get(bm, a))
			return a;
		a++;
	}
	return b;
}

/* One past the last set bit in [a, b), or a when none is set. */
static uint64_t range_end_of_ones(const uint64_t *bm, uint64_t a, uint64_t b)
{
	while (b > a) {
		if (b % 64 == 0 && b - a >= 64 && bm[b / 64 - 1] == 0) {
			b -= 64;
			continue;
		}
		if (bit_get(bm, b - 1))
			return b;
		b--;
	}
	return a;
}

/* ---- the log check ---- */

int fmsg_verify_init(struct fmsg_verify *v, uint32_t nclients, uint64_t nseq,
		     size_t size, int allow_missing_tail)
{
	uint64_t bits;

	memset(v, 0, sizeof(*v));
	if (nclients == 0 || nseq == 0 || nseq > FMSG_BITMAP_MAX / nclients ||
	    size < fmsg_min_size(nclients, nseq)) {
		errno = EINVAL;
		return -1;
	}
	bits = (uint64_t)nclients * nseq;
	v->bitmap = calloc((size_t)((bits + 63) / 64), sizeof(uint64_t));
	v->m0_us = malloc((size_t)nclients * sizeof(*v->m0_us));
	v->first_logged_us = calloc(1, sizeof(*v->first_logged_us));
	if (v->bitmap == NULL || v->m0_us == NULL ||
	    v->first_logged_us == NULL) {
		fmsg_verify_free(v);
		errno = ENOMEM;
		return -1;
	}
	memset(v->m0_us, 0xff, (size_t)nclients * sizeof(*v->m0_us)); /* -1 */
	v->first_connect_us = -1;
	v->nclients = nclients;
	v->nseq = nseq;
	v->size = size;
	v->allow_missing_tail = allow_missing_tail;
	v->expected = bits;
	return 0;
}

void fmsg_verify_free(struct fmsg_verify *v)
{
	free(v->bitmap);
	free(v->m0_us);
	free(v->first_logged_us);
	v->bitmap = NULL;
	v->m0_us = NULL;
	v->first_logged_us = NULL;
}

static void example(struct fmsg_examples *ex, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void example(struct fmsg_examples *ex, const char *fmt, ...)
{
	va_list ap;

	if (ex->count >= FMSG_EXAMPLES)
		return;
	va_start(ap, fmt);
	vsnprintf(ex->text[ex->count], FMSG_EXAMPLE_LEN, fmt, ap);
	va_end(ap);
	ex->count++;
}

/* The file being fed, or NULL (lines fed without a file). */
static struct fmsg_file *cur_file(struct fmsg_verify *v)
{
	return v->nfiles > 0 ? &v->files[v->nfiles - 1] : NULL;
}

/* Where the current line is, for an example: "line N", or with several
 * files "PATH line N" (N counted in that file). */
static const char *where(struct fmsg_verify *v, char *buf, size_t size)
{
	const struct fmsg_file *f = cur_file(v);

	if (f == NULL || v->nfiles == 1)
		snprintf(buf, size, "line %" PRIu64, v->lines);
	else
		snprintf(buf, size, "%s line %" PRIu64, f->path, f->lines);
	return buf;
}

/* Room for where(): a path of the example's length and a number. */
#define WHERE_LEN FMSG_EXAMPLE_LEN

static void corrupted(struct fmsg_verify *v, const char *why, const char *line,
		      size_t len)
{
	/* Show at most 80 bytes of the line: enough to recognise it. */
	int shown = len > 80 ? 80 : (int)len;
	struct fmsg_file *f = cur_file(v);
	char at[WHERE_LEN];

	v->corrupted++;
	if (f != NULL)
		f->corrupted++;
	example(&v->ex_corrupted, "%s: %s: %.*s%s", where(v, at, sizeof(at)),
		why, shown, line, len > (size_t)shown ? "..." : "");
}

static void check_text(struct fmsg_verify *v, const char *line, size_t llen,
		       const char *text, size_t tlen, int truncated,
		       int64_t ts_us)
{
	struct fmsg_file *f;
	char at[WHERE_LEN];
	uint32_t client;
	uint64_t seq;

	/* Only flood's own messages count: "c" then a digit. */
	if (tlen < 2 || text[0] != 'c' || text[1] < '0' || text[1] > '9') {
		v->other_msgs++;
		return;
	}
	if (truncated) {
		corrupted(v, "truncated", line, llen);
		return;
	}
	if (fmsg_parse(text, tlen, &client, &seq) == -1) {
		corrupted(v, "malformed", line, llen);
		return;
	}
	if (tlen != v->size - 1) {
		corrupted(v, "wrong length", line, llen);
		return;
	}
	if (client >= v->nclients || seq >= v->nseq) {
		corrupted(v, "out of range", line, llen);
		return;
	}
	f = cur_file(v);
	if (bit_test_set(v->bitmap, (uint64_t)client * v->nseq + seq)) {
		v->duplicated++;
		if (f != NULL)
			f->duplicated++;
		example(&v->ex_duplicated, "c%" PRIu32 " m%" PRIu64 " (%s)",
			client, seq, where(v, at, sizeof(at)));
		return;
	}
	v->found++;
	if (f != NULL)
		f->found++;
	if (seq == 0)
		v->m0_us[client] = ts_us;
}

/* A log line, read by the log's own reader (logline.h).  Flood's
 * messages never hold an escape, so the text is not unescaped: one that
 * holds one is looked at as logged, and found malformed. */
static void check_line(struct fmsg_verify *v, const char *line, size_t len)
{
	struct logline l;
	int64_t ts_us;

	/* Not a line of the grammar (EMSGSIZE: an escape in the text). */
	if (logline_parse(line, len, &l, NULL, 0) == -1 && errno != EMSGSIZE)
		return;
	ts_us = (int64_t)l.ts.tv_sec * 1000000 + l.ts.tv_nsec / 1000;
	if (l.transport != LOGLINE_SERVER && l.event == LOGLINE_CONNECT &&
	    (v->first_connect_us == -1 || ts_us < v->first_connect_us))
		v->first_connect_us = ts_us;
	if (l.transport == LOGLINE_SERVER ||
	    (l.event != LOGLINE_MSG && l.event != LOGLINE_MSG_TRUNCATED))
		return;
	v->msg_lines++;
	check_text(v, line, len, l.text != NULL ? l.text : l.escaped,
		   l.text != NULL ? l.text_len : l.escaped_len,
		   l.event == LOGLINE_MSG_TRUNCATED, ts_us);
}

void fmsg_verify_feed(struct fmsg_verify *v, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		v->lines++;
		if (cur_file(v) != NULL)
			cur_file(v)->lines++;
		check_line(v, p, (size_t)(nl - p));
		p = nl + 1;
	}
}

static void missing_example(struct fmsg_verify *v, uint64_t bit)
{
	example(&v->ex_missing, "c%" PRIu64 " m%" PRIu64, bit / v->nseq,
		bit % v->nseq);
}

static void finish_full(struct fmsg_verify *v)
{
	uint64_t bit = 0;

	while (v->ex_missing.count < FMSG_EXAMPLES) {
		bit = range_next_zero(v->bitmap, bit, v->expected);
		if (bit == v->expected)
			break;
		missing_example(v, bit++);
	}
}

/* Per client, the found messages must be 0..k-1: ones up to the last
 * set bit, nothing missing before it. */
static void finish_prefix(struct fmsg_verify *v)
{
	uint64_t c, a, b, last, k, bit;

	v->shortest = UINT64_MAX;
	for (c = 0; c < v->nclients; c++) {
		a = c * v->nseq;
		b = a + v->nseq;
		k = range_popcount(v->bitmap, a, b);
		last = range_end_of_ones(v->bitmap, a, b);
		v->holes += (last - a) - k;
		if (k == v->nseq)
			v->complete++;
		if (k < v->shortest) {
			v->shortest = k;
			v->shortest_client = (uint32_t)c;
		}
		for (bit = a; v->ex_missing.count < FMSG_EXAMPLES; bit++) {
			bit = range_next_zero(v->bitmap, bit, last);
			if (bit >= last)
				break;
			missing_example(v, bit);
		}
	}
	v->tail_missing = v->missing - v->holes;
}

/* first_logged_us from the clients' m0 times (see fmsg.h). */
static void finish_first_logged(struct fmsg_verify *v)
{
	int64_t origin = v->start_us;
	uint32_t i;

	if (origin == 0)
		origin = v->first_connect_us;
	if (origin == -1) { /* no connect line (UDP): the first m0 */
		origin = INT64_MAX;
		for (i = 0; i < v->nclients; i++)
			if (v->m0_us[i] != -1 && v->m0_us[i] < origin)
				origin = v->m0_us[i];
	}
	for (i = 0; i < v->nclients; i++) {
		if (v->m0_us[i] == -1)
			continue;
		hist_record(v->first_logged_us,
			    v->m0_us[i] > origin
				    ? (uint64_t)(v->m0_us[i] - origin)
				    : 0);
	}
}

void fmsg_verify_finish(struct fmsg_verify *v)
{
	finish_first_logged(v);
	v->missing = v->expected - v->found;
	if (v->allow_missing_tail)
		finish_prefix(v);
	else
		finish_full(v);
}

int fmsg_verify_ok(const struct fmsg_verify *v)
{
	if (v->duplicated != 0 || v->corrupted != 0 || v->torn != 0)
		return 0;
	if (v->allow_missing_tail)
		return v->holes == 0;
	return v->missing == 0;
}

int fmsg_verify_file(struct fmsg_verify *v, const char *path, char *err,
		     size_t errlen)
{
	if (fmsg_verify_add_file(v, path, err, errlen) == -1)
		return -1;
	fmsg_verify_finish(v);
	return 0;
}

/* The length of text[0..len)'s whole lines; a torn last line after
 * them is counted. */
static size_t whole_lines(struct fmsg_verify *v, const char *text, size_t len,
			  const char *path)
{
	size_t whole = len;

	while (whole > 0 && text[whole - 1] != '\n')
		whole--;
	if (whole < len) {
		if (v->torn++ == 0)
			v->torn_path = path;
	}
	return whole;
}

int fmsg_verify_add_file(struct fmsg_verify *v, const char *path, char *err,
			 size_t errlen)
{
	struct stat st;
	void *map;
	int fd, saved;

	if (v->nfiles == FMSG_FILES_MAX) {
		snprintf(err, errlen, "%s: more than %d files", path,
			 FMSG_FILES_MAX);
		errno = EINVAL;
		return -1;
	}
	/* O_NONBLOCK: opening a FIFO without a writer returns at once
	 * (and is refused below) instead of waiting for one. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		saved = EINVAL;
		snprintf(err, errlen,
			 "%s: not a regular file (--verify-log reads a log "
			 "file, whole)",
			 path);
		goto fail;
	}
	memset(&v->files[v->nfiles], 0, sizeof(v->files[0]));
	v->files[v->nfiles++].path = path;
	if (st.st_size == 0) { /* mmap() refuses length 0 */
		close(fd);
		return 0;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		saved = errno;
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(saved));
		goto fail;
	}
	close(fd);
	/* Only a hint: the check still works if the kernel ignores it. */
	(void)posix_madvise(map, (size_t)st.st_size, POSIX_MADV_SEQUENTIAL);
	fmsg_verify_feed(v, map, whole_lines(v, map, (size_t)st.st_size, path));
	munmap(map, (size_t)st.st_size);
	return 0;
fail:
	close(fd);
	errno = saved;
	return -1;
}

static void print_examples(FILE *fp, const char *what,
			   const struct fmsg_examples *ex)
{
	unsigned i;

	for (i = 0; i < ex->count; i++)
		fprintf(fp, "  %s: %s\n", what, ex->text[i]);
}

/* "a.log", "a.log and b.log", "3 files: a.log, b.log, c.log". */
static void print_paths(FILE *fp, const struct fmsg_verify *v)
{
	if (v->nfiles == 0) {
		fputs("(no file)", fp);
		return;
	}
	if (v->nfiles > 2)
		fprintf(fp, "%u files: ", v->nfiles);
	for (unsigned i = 0; i < v->nfiles; i++)
		fprintf(fp, "%s%s",
			i == 0		 ? ""
			: v->nfiles == 2 ? " and "
					 : ", ",
			v->files[i].path);
}

/* With several files, what each held: where the messages went. */
static void print_files(FILE *fp, const struct fmsg_verify *v)
{
	for (unsigned i = 0; v->nfiles > 1 && i < v->nfiles; i++) {
		const struct fmsg_file *f = &v->files[i];

		fprintf(fp,
			"  file %s: %" PRIu64 " lines, %" PRIu64
			" messages, %" PRIu64 " duplicated, %" PRIu64
			" corrupted\n",
			f->path, f->lines, f->found, f->duplicated,
			f->corrupted);
	}
}

void fmsg_verify_print(FILE *fp, const struct fmsg_verify *v)
{
	fputs("verify-log ", fp);
	print_paths(fp, v);
	fprintf(fp,
		": %" PRIu32 " clients x %" PRIu64 " messages of %zu bytes\n",
		v->nclients, v->nseq, v->size);
	print_files(fp, v);
	fprintf(fp, "  lines           %" PRIu64 "\n", v->lines);
	fprintf(fp,
		"  msg events      %" PRIu64 " (%" PRIu64
		" not from flood, ignored)\n",
		v->msg_lines, v->other_msgs);
	fprintf(fp, "  expected        %" PRIu64 "\n", v->expected);
	fprintf(fp, "  found           %" PRIu64 "\n", v->found);
	fprintf(fp, "  missing         %" PRIu64 "\n", v->missing);
	fprintf(fp, "  duplicated      %" PRIu64 "\n", v->duplicated);
	fprintf(fp, "  corrupted       %" PRIu64 "\n", v->corrupted);
	if (v->torn > 0)
		fprintf(fp,
			"  torn            %" PRIu64
			" (%s%s: last line without its '\\n', not read)\n",
			v->torn, v->torn_path, v->torn > 1 ? " and more" : "");
	if (v->allow_missing_tail) {
		fprintf(fp,
			"  prefix check    %" PRIu32 " of %" PRIu32
			" clients complete, shortest c%" PRIu32 " with %" PRIu64
			"; missing tail %" PRIu64 ", holes %" PRIu64 "\n",
			v->complete, v->nclients, v->shortest_client,
			v->shortest, v->tail_missing, v->holes);
	}
	print_examples(fp, v->allow_missing_tail ? "hole" : "missing",
		       &v->ex_missing);
	if (hist_count(v->first_logged_us) > 0)
		fprintf(fp,
			"  first logged    p50 %" PRIu64 "  max %" PRIu64
			" us after the %s (%" PRIu64 " clients)\n",
			hist_percentile(v->first_logged_us, 50),
			hist_max(v->first_logged_us),
			v->start_us != 0 ? "run's start" : "first connect",
			hist_count(v->first_logged_us));
	print_examples(fp, "duplicated", &v->ex_duplicated);
	print_examples(fp, "corrupted", &v->ex_corrupted);
	fprintf(fp, "  result          %s\n",
		fmsg_verify_ok(v) ? "OK" : "FAILED");
}
