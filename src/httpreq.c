/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * httpreq.c - the metrics endpoint's request head; contract in httpreq.h.
 *
 * The head is read line by line; a line is judged only once it is
 * whole, so what a prefix of the bytes says never depends on bytes not
 * yet received (see httpreq.h).
 */
#include "httpreq.h"

#include <stdbool.h>
#include <string.h>

#define METRICS_PATH "/metrics"

/* What the header lines said, for the checks on the whole head. */
struct head_facts {
	unsigned hosts;
	bool bad; /* a header this endpoint refuses (a body) */
};

/* RFC 9110 5.6.2 tchar: the characters of a token. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A field value's characters: VCHAR, SP, HTAB, obs-text. */
static bool is_value_char(unsigned char c)
{
	return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

static bool is_token(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

static bool same_name(const char *s, size_t len, const char *name)
{
	size_t i;

	if (len != strlen(name))
		return false;
	for (i = 0; i < len; i++) {
		char a = s[i], b = name[i];

		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

/* "METHOD SP TARGET SP HTTP/D.D": 0 with *req's target and version
 * filled and *is_get, or -1. */
static int request_line(const char *line, size_t len, size_t at,
			struct http_request *req, bool *is_get)
{
	const char *sp1 = memchr(line, ' ', len), *sp2, *v;
	size_t i;

	if (sp1 == NULL || !is_token(line, (size_t)(sp1 - line)))
		return -1;
	sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line));
	if (sp2 == NULL || sp2 == sp1 + 1 || sp1[1] != '/')
		return -1;
	for (i = 1; sp1 + i < sp2; i++)
		if (sp1[i] < 0x21 || sp1[i] == 0x7f)
			return -1;
	v = sp2 + 1;
	if ((size_t)(line + len - v) != 8 || memcmp(v, "HTTP/", 5) != 0 ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
		return -1;
	*is_get = sp1 - line == 3 && memcmp(line, "GET", 3) == 0;
	req->target_off = at + (size_t)(sp1 + 1 - line);
	req->target_len = (size_t)(sp2 - sp1 - 1);
	req->version = (unsigned)(v[5] - '0') * 10 + (unsigned)(v[7] - '0');
	return 0;
}

/* "NAME: VALUE": 0 with what it says added to *facts, or -1. */
static int header_line(const char *line, size_t len, struct head_facts *facts)
{
	const char *colon = memchr(line, ':', len);
	size_t name_len, i, start, end;

	if (colon == NULL)
		return -1;
	name_len = (size_t)(colon - line);
	if (!is_token(line, name_len))
		return -1; /* also a space before the colon, or a fold */
	for (i = name_len + 1; i < len; i++)
		if (!is_value_char((unsigned char)line[i]))
			return -1;
	start = name_len + 1;
	end = len;
	while (start < end && (line[start] == ' ' || line[start] == '\t'))
		start++;
	while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t'))
		end--;
	if (same_name(line, name_len, "host"))
		facts->hosts++;
	/* A body: any Transfer-Encoding, a Content-Length but 0. */
	if (same_name(line, name_len, "transfer-encoding") ||
	    (same_name(line, name_len, "content-length") &&
	     !(end - start == 1 && line[start] == '0')))
		facts->bad = true;
	return 0;
}

/* The answer for a whole head, once every line was read. */
static enum http_status judge(const struct http_request *req, bool is_get,
			      const struct head_facts *facts, const char *buf)
{
	const char *target = buf + req->target_off;
	size_t path_len = sizeof(METRICS_PATH) - 1;

	if (facts->bad || (req->version == 11 && facts->hosts != 1))
		return HTTP_BAD_REQUEST;
	if (req->version != 10 && req->version != 11)
		return HTTP_BAD_VERSION;
	if (!is_get)
		return HTTP_BAD_METHOD;
	if (req->target_len < path_len ||
	    memcmp(target, METRICS_PATH, path_len) != 0 ||
	    (req->target_len > path_len && target[path_len] != '?'))
		return HTTP_NOT_FOUND;
	return HTTP_OK;
}

enum http_status http_parse(const char *buf, size_t len,
			    struct http_request *req)
{
	struct http_request r = {0};
	struct head_facts facts = {0};
	size_t scan = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX, at = 0;
	bool is_get = false;
	enum http_status status;

	memset(req, 0, sizeof(*req));
	while (at < scan) {
		const char *nl = memchr(buf + at, '\n', scan - at);
		size_t line_len, next;

		if (nl == NULL)
			break;
		next = (size_t)(nl - buf) + 1;
		line_len = (size_t)(nl - (buf + at));
		if (line_len > 0 && buf[at + line_len - 1] == '\r')
			line_len--;
		if (at == 0) {
			if (request_line(buf, line_len, 0, &r, &is_get) == -1)
				return HTTP_BAD_REQUEST;
		} else if (line_len == 0) {
			r.head_len = next;
			status = judge(&r, is_get, &facts, buf);
			*req = r;
			return status;
		} else if (header_line(buf + at, line_len, &facts) == -1) {
			return HTTP_BAD_REQUEST;
		}
		at = next;
	}
	return len >= HTTP_HEAD_MAX ? HTTP_TOO_LARGE : HTTP_MORE;
}

const char *http_reason(enum http_status status)
{
	switch (status) {
	case HTTP_OK:
		return "OK";
	case HTTP_BAD_REQUEST:
		return "Bad Request";
	case HTTP_NOT_FOUND:
		return "Not Found";
	case HTTP_BAD_METHOD:
		return "Method Not Allowed";
	case HTTP_TOO_LARGE:
		return "Request Header Fields Too Large";
	case HTTP_BAD_VERSION:
		return "HTTP Version Not Supported";
	case HTTP_MORE:
		break;
	}
	return "Unknown";
}
