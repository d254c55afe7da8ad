/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lean.c - lean thread stacks through one re-exec; contract in lean.h.
 */
#include "lean.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Finished threads' stacks glibc keeps for reuse: its default, 40 MiB,
 * is 600 of our 64 KiB stacks, which a crowd that has left would keep
 * in address space (and their touched pages in memory) for good; under
 * an address-space limit that alone refused new clients.  4 MiB still
 * lets a burst of short connections reuse sixty stacks. */
#define LEAN_STACK_CACHE "0x400000"

/* What lean_stacks() adds to GLIBC_TUNABLES, and the name that
 * says it has been done (or chosen otherwise by the user). */
#define LEAN_TUNABLES                                                          \
	"glibc.rtld.optional_static_tls=0:glibc.rtld.nns=1:"                   \
	"glibc.pthread.stack_cache_size=" LEAN_STACK_CACHE
#define LEAN_MARK "glibc.rtld.optional_static_tls"
/* Room for the user's own tunables and ours; a longer setting is left
 * alone rather than cut. */
#define TUNABLES_MAX 1024

#if defined(__GLIBC__) && defined(__linux__)
/* Executes this very program again with argv.  Through its real path,
 * not /proc/self/exe: the kernel names the process after the file it
 * executes, and ps, top, pgrep and killall should see "mtserver", not
 * "exe".  Returns only if that fails (a binary replaced or deleted since
 * it started, for one). */
static void exec_self(char *argv[])
{
	char path[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (len <= 0 || (size_t)len >= sizeof(path) - 1)
		return;
	path[len] = '\0';
	execv(path, argv);
}
#endif

void lean_stacks(char *argv[])
{
#if defined(__GLIBC__) && defined(__linux__)
	const char *old = getenv("GLIBC_TUNABLES");
	const char *preload = getenv("LD_PRELOAD");
	char tunables[TUNABLES_MAX];
	int n;

	if ((old != NULL && strstr(old, LEAN_MARK) != NULL) ||
	    (preload != NULL && preload[0] != '\0'))
		return;
	n = snprintf(tunables, sizeof(tunables), "%s%s%s",
		     old != NULL ? old : "", old != NULL ? ":" : "",
		     LEAN_TUNABLES);
	if (n < 0 || (size_t)n >= sizeof(tunables))
		return;
	if (setenv("GLIBC_TUNABLES", tunables, 1) == -1)
		return;
	exec_self(argv);
	/* Still here: run on as we are, environment as it was. */
	if (old != NULL)
		(void)setenv("GLIBC_TUNABLES", old, 1);
	else
		(void)unsetenv("GLIBC_TUNABLES");
#else
	(void)argv;
#endif
}
