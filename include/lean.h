/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lean.h - make a thread's stack cost one page while it is idle: a
 * process start-up concern of thread-per-connection servers, so that ten
 * thousand idle clients cost half the memory.  Call lean_stacks first
 * thing in main, before any thread or descriptor exists.
 *
 * glibc places each thread's descriptor (about 2.3 KiB) and its static
 * TLS at the top of the thread's stack, and the static TLS carries a
 * "surplus" (about 1.6 KiB by default) reserved for libraries that
 * dlopen() might load later.  Descriptor and surplus fill the first 4 KiB
 * page, so the worker's frames always start on a second one: 8 KiB per
 * idle client, 80 MB for 10,000.  Without the surplus the frames of an
 * idle session fit beside the descriptor: 4 KiB per client.  The surplus
 * is set only by the GLIBC_TUNABLES variable, read when the program
 * starts, so this re-executes the program (its own file, same argv)
 * once with glibc.rtld.optional_static_tls=0 and glibc.rtld.nns=1 added
 * to it; the server dlopen()s nothing, so it needs no surplus.
 *
 * It does nothing, and returns, when GLIBC_TUNABLES already names
 * glibc.rtld.optional_static_tls (the user's choice, or this was the
 * re-executed run), when LD_PRELOAD is set (valgrind and other tools
 * that preload themselves would lose the process), when the C library
 * is not glibc, or when the exec fails: the server then runs as it is,
 * with two pages per idle client.
 */
#ifndef LEAN_H
#define LEAN_H

void lean_stacks(char *argv[]);

#endif
