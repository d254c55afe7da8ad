/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * udp.h - the UDP receive loop: one thread, one recvfrom after another.
 *
 * Each datagram's messages (frame_datagram: text up to the first '\0',
 * split at '\n') are logged as "TS udp PEER #N msg TEXT", N counting
 * datagrams.  With --echo a datagram gets at most one datagram back:
 * its messages' replies (each message and '\n') joined, cut after the
 * last whole reply that fits; and each source address may be sent at
 * most --udp-echo-rate bytes per second (headers counted, a second's
 * worth at once), so a spoofed source cannot turn the server into an
 * amplifier against a victim.  Replies over the budget are not sent
 * (counted in the summary); their messages are logged all the same.  The loop
 * waits in poll(2) on the socket and the server's stop descriptor; at shutdown
 * it first logs the datagrams already queued.
 *
 * Threads: udp_serve runs on the server's UDP thread; it shares only the
 * conn_env (thread-safe logger and stats).  It allocates its buffers and
 * frees them before returning; fd stays the caller's.
 */
#ifndef UDP_H
#define UDP_H

#include "conn.h"

/* Largest UDP payload over IPv6 (65535 - 8; jumbograms aside, nothing
 * bigger can arrive) and over IPv4 (20 bytes of IP header less). */
#define UDP_DATAGRAM_MAX    65527
#define UDP_DATAGRAM_MAX_V4 65507

/* Runs until env->stop_fd is readable.  Returns 0, or -1 with errno when
 * it could not start (no memory) or the socket failed. */
int udp_serve(const struct conn_env *env, int fd);

#endif
