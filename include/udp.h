/*
 * udp.h - the UDP receive loop: one thread, one recvfrom after another.
 *
 * Each datagram's messages (frame_datagram: text up to the first '\0',
 * split at '\n') are logged as "TS udp PEER #N msg TEXT", N counting
 * datagrams; with --echo each message goes back to its sender as one
 * datagram (the message and '\n').  The loop waits in poll(2) on the
 * socket and the server's stop descriptor; at shutdown it first logs
 * the datagrams already queued.
 *
 * Threads: udp_serve runs on the server's UDP thread; it shares only the
 * conn_env (thread-safe logger and stats).  It allocates its buffers and
 * frees them before returning; fd stays the caller's.
 */
#ifndef UDP_H
#define UDP_H

#include "conn.h"

/* Largest UDP payload over IPv4 (65535 - 8 - 20); IPv6 jumbograms aside,
 * nothing bigger can arrive. */
#define UDP_DATAGRAM_MAX 65507

/* Runs until env->stop_fd is readable.  Returns 0, or -1 with errno when
 * it could not start (no memory) or the socket failed. */
int udp_serve(const struct conn_env *env, int fd);

#endif
