/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * wire.h - TCP and UDP packets as tcpdump prints them, annotated with the
 * steps of the three-way handshake and the four-way teardown.
 *
 * The input is tcpdump's text, one packet per line, as written by
 * `tcpdump -nn -tt -S` (numeric addresses and ports, seconds since the
 * epoch, absolute sequence numbers), live or with -r from a pcap file:
 *
 *   1795595246.752438 IP 127.0.0.1.56954 > 127.0.0.1.43183: Flags [S],
 *     seq 228810961, win 65495, options [...], length 0
 *   1795595246.752490 IP 127.0.0.1.56954 > 127.0.0.1.43183: Flags [P.],
 *     seq 228810962:228810968, ack 685954058, win 64, ..., length 6
 *   1795595252.128734 IP 127.0.0.1.41071 > 127.0.0.1.37411: UDP, length 6
 *
 * (each on one line).  wire_parse() reads one such line; wire_annotate()
 * follows the connections of a whole capture and says, for each packet,
 * which step it is (for the tutorial, in Chinese too) and which rule of
 * the sequence numbers it shows, checking that the numbers obey it.
 *
 * Memory: everything is in caller-owned structs of fixed size; nothing
 * allocates.  Threads: no shared state; any thread may call these.
 * Errors: wire_parse() returns -1 for a line that is not a TCP or UDP
 * packet (a tcpdump banner, ICMP, a truncated line).
 */
#ifndef FLOOD_WIRE_H
#define FLOOD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv6 literal is at most 45 characters (with an embedded IPv4
 * address); 48 holds it and its NUL. */
#define WIRE_ADDR_MAX 48
/* A packet's rules: up to three sentences of some 80 characters, each
 * with two or three 10-digit numbers (a FIN with data that also
 * acknowledges the peer's FIN). */
#define WIRE_RULE_MAX 320
/* Connections followed at once in one capture: a lesson shows a few. */
#define WIRE_CONN_MAX 32

enum wire_proto { WIRE_TCP, WIRE_UDP };

/* TCP flags as tcpdump prints them: S F P R . (ACK) U E W. */
#define WIRE_F_SYN 0x01u
#define WIRE_F_FIN 0x02u
#define WIRE_F_PSH 0x04u
#define WIRE_F_RST 0x08u
#define WIRE_F_ACK 0x10u
#define WIRE_F_URG 0x20u
#define WIRE_F_ECE 0x40u
#define WIRE_F_CWR 0x80u

struct wire_pkt {
	int64_t time_us; /* since the epoch */
	char src[WIRE_ADDR_MAX], dst[WIRE_ADDR_MAX];
	unsigned sport, dport;
	enum wire_proto proto;
	unsigned flags;	   /* WIRE_*, TCP only */
	bool has_seq;	   /* tcpdump prints no seq for a bare ACK */
	bool has_ack;	   /* the ACK flag is set and ack is printed */
	uint32_t seq, ack; /* absolute (-S) */
	uint32_t len;	   /* payload bytes */
	uint32_t win;	   /* as printed (scaled by wscale) */
};

/* Parses one line of `tcpdump -nn -tt -S` into *p.  0, or -1 (errno
 * EINVAL) if the line is no TCP or UDP packet over IP or IP6.  A bare
 * ACK has no seq in tcpdump's text; wire_annotate() fills it in. */
int wire_parse(const char *line, struct wire_pkt *p);

/* The steps a packet can be; one packet can be several at once (a FIN
 * that carries data, the ACK of a FIN carried on a reply), so a note
 * holds a set of them.  Listed in the order a packet's steps are named:
 * what its acknowledgement number does, then its payload, then its FIN,
 * as the receiver processes them. */
enum wire_step {
	WIRE_HS1,     /* 第一次握手: SYN */
	WIRE_HS2,     /* 第二次握手: SYN/ACK */
	WIRE_HS3,     /* 第三次握手: ACK */
	WIRE_FIN2,    /* 第二次挥手: the ACK of the first FIN */
	WIRE_FIN4,    /* 第四次挥手: the ACK of the second FIN */
	WIRE_ACKONLY, /* an ACK of data, nothing else */
	WIRE_DATA,    /* payload */
	WIRE_RETRANS, /* a segment sent again */
	WIRE_FIN1,    /* 第一次挥手: the first FIN */
	WIRE_FIN3,    /* 第三次挥手: the other side's FIN */
	WIRE_RESET,   /* a reset */
	WIRE_DGRAM,   /* a UDP datagram */
	WIRE_STEP_COUNT
};

#define WIRE_STEP(s) (1u << (s))

struct wire_note {
	unsigned steps;	  /* WIRE_STEP() bits */
	bool from_client; /* the side that sent the first SYN (or the
			     first packet, without one) */
	bool half_close;  /* data sent after the peer's FIN */
	bool violation;	  /* a number breaks the rule stated */
	int conn;	  /* connection index, 0.. in order of appearance */
	int64_t since_us; /* since the capture's first packet */
	uint32_t seq;	  /* the sequence number, filled in for a bare ACK */
	char rule[WIRE_RULE_MAX];
};

/* What a whole capture showed, for a script to check. */
struct wire_summary {
	int conns;	/* connections (TCP 4-tuples, UDP pairs) */
	int untracked;	/* packets beyond WIRE_CONN_MAX connections */
	int violations; /* notes with violation set */
	int retransmissions;
	int resets;
	int half_close; /* data segments sent after the peer's FIN */
};

/* Annotates pkts[0..n) (in capture order) into notes[0..n) and fills
 * *sum.  Bare ACKs get their sequence number (the sender's next) in
 * notes[i].seq.  Never fails. */
void wire_annotate(const struct wire_pkt *pkts, size_t n,
		   struct wire_note *notes, struct wire_summary *sum);

/* A step's names: English ("handshake 1: SYN") and the tutorial's
 * Chinese ("第一次握手"), or "" where the tutorial has none. */
const char *wire_step_name(enum wire_step s);
const char *wire_step_name_zh(enum wire_step s);
/* A step's short code for scripts: "HS1", "FIN2", "DATA", ... */
const char *wire_step_code(enum wire_step s);

/* tcpdump's flag letters for p ("S", "S.", "FP.", "R."; "UDP"); buf
 * needs 12 bytes.  Returns buf. */
char *wire_flags(const struct wire_pkt *p, char *buf, size_t len);

#endif
