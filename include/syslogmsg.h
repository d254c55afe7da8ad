/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * syslogmsg.h - recognises the header of a syslog message (RFC 5424 or RFC
 * 3164) at the start of a received message, so that the log line can
 * carry its facility, severity and names as fields of their own
 * (logline.h).  The message itself is never changed.
 *
 * What counts as a header (docs/syslog.md says the same, with examples):
 *
 *   PRI       "<" 1-3 digits ">", the value 0..191, no leading zero
 *             except "<0>".  facility = PRI / 8, severity = PRI % 8.
 *   RFC 5424  PRI "1" SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP
 *             MSGID SP STRUCTURED-DATA, then the end or SP and MSG.
 *             TIMESTAMP: "-" or YYYY-MM-DDTHH:MM:SS[.1-6 digits] then
 *             "Z" or +HH:MM/-HH:MM (month 01-12, day 01-31, hour 00-23,
 *             minute and second 00-59).  HOSTNAME 1-255, APP-NAME 1-48,
 *             PROCID 1-128, MSGID 1-32 printable US-ASCII bytes (33-126;
 *             "-" is the RFC's NILVALUE and is kept as "-").
 *             STRUCTURED-DATA: "-" or one or more [SD-ID *(SP
 *             NAME="VALUE")], names 1-32 bytes of 33-126 but '=', ']'
 *             and '"', values with '"', '\' and ']' escaped by '\'.
 *   RFC 3164  PRI TIMESTAMP SP HOSTNAME, then the end or SP.  TIMESTAMP:
 *             "Mmm dd hh:mm:ss", Mmm one of Jan..Dec, dd " 1".." 9" or
 *             "01".."31", hh 00-23, mm and ss 00-59.  HOSTNAME 1-255
 *             bytes of 33-126.
 *
 * Anything else (a bare "<13>hello", a version other than 1, a bad
 * date) is not a syslog header: the message is logged as any other.
 *
 * (Named syslogmsg, not syslog: with -Iinclude a header of ours called
 * syslog.h would hide the C library's <syslog.h>.)
 *
 * No state, no allocation, a few bytes of stack: any thread may call
 * these.  Views point into the caller's message.
 */
#ifndef SYSLOGMSG_H
#define SYSLOGMSG_H

#include <stddef.h>

/* The header fields' longest values (RFC 5424 section 6). */
#define SYSLOGMSG_HOSTNAME_MAX 255
#define SYSLOGMSG_APP_NAME_MAX 48
#define SYSLOGMSG_PROCID_MAX   128
#define SYSLOGMSG_MSGID_MAX    32
#define SYSLOGMSG_NAMES_MAX                                                    \
	(SYSLOGMSG_HOSTNAME_MAX + SYSLOGMSG_APP_NAME_MAX +                     \
	 SYSLOGMSG_PROCID_MAX + SYSLOGMSG_MSGID_MAX)

enum syslogmsg_rfc { SYSLOGMSG_RFC3164 = 3164, SYSLOGMSG_RFC5424 = 5424 };

/* A header's fields; app_name, procid and msgid are RFC 5424's only
 * (NULL, 0 for RFC 3164). */
struct syslogmsg {
	enum syslogmsg_rfc rfc;
	unsigned facility; /* 0..23 */
	unsigned severity; /* 0..7 */
	const char *hostname, *app_name, *procid, *msgid;
	size_t hostname_len, app_name_len, procid_len, msgid_len;
};

/* Whether msg[0..len) starts with a syslog header: 0 and *h filled, or
 * -1 (not one; *h is then unspecified).  Cheap for anything else: a
 * message that does not start with '<' is turned away at its first
 * byte. */
int syslogmsg_parse(const char *msg, size_t len, struct syslogmsg *h);

/* The names rsyslog uses ("kern", "user", ... "local7"; "emerg", ...
 * "debug"); NULL when out of range. */
const char *syslogmsg_facility(unsigned facility);
const char *syslogmsg_severity(unsigned severity);

#endif
