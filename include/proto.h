/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proto.h - the protocol's fixed lines, shared by the servers, mtclient
 * and flood so that what one side sends is what the other recognises.
 *
 * The protocol itself is lines of text ('\n'-terminated) over TCP, one
 * message per datagram (or per line in it) over UDP; README "Protocol".
 * A client the server will not serve is sent one refusal line and then
 * closed.  New refusals go here.
 */
#ifndef PROTO_H
#define PROTO_H

/* At --max-clients, or out of descriptors. */
#define PROTO_FULL_LINE "server full\n"
/* No memory or no thread for the client. */
#define PROTO_BUSY_LINE "server busy\n"
/* The client's address holds --max-per-ip connections already. */
#define PROTO_PER_IP_LINE "too many connections from your address\n"

/* A client's message that ends its session. */
#define PROTO_QUIT "quit"

#endif
