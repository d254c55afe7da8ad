/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * harness_servers.c - see servers.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "servers.h"

const char *srv_model(void)
{
	const char *model = getenv("MT_MODEL");

	return model != NULL && *model != '\0' ? model : "mtserver";
}

void srv_start(struct srv *s, const char *prog, ...)
{
	static unsigned seq;
	const char *argv[32];
	const char *a;
	va_list ap;
	int n = 0;

	/* MT_MODEL=epserver (or rpserver...): the suites written for
	 * mtserver run against another model taking its options. */
	if (strcmp(prog, "mtserver") == 0)
		prog = srv_model();
	snprintf(s->log, sizeof(s->log), "%s", h_path(""));
	snprintf(s->log + strlen(s->log), sizeof(s->log) - strlen(s->log),
		 "%s.%u.log", prog, seq++);
	unlink(s->log);
	argv[n++] = "-l";
	argv[n++] = s->log;
	va_start(ap, prog);
	while ((a = va_arg(ap, const char *)) != NULL && n < 29)
		argv[n++] = a;
	va_end(ap);
	argv[n++] = "0";
	argv[n] = NULL;
	if (h_start_server(&s->p, prog, argv) == -1)
		fail_msg("%s did not start; see %s", prog, s->p.err_path);
}

void srv_stop(struct srv *s)
{
	int rc = h_stop(&s->p, SIGTERM, 20000);

	if (rc != 0)
		fail_msg("server exit status %d; see %s", rc, s->p.err_path);
}

int srv_connect(const struct srv *s)
{
	int fd = h_connect("127.0.0.1", s->p.port);

	if (fd < 0)
		fail_msg("cannot connect to port %d", s->p.port);
	return fd;
}

void srv_send(int fd, const char *text)
{
	assert_int_equal(h_send_all(fd, text, strlen(text)), 0);
}

void srv_wait_log(const struct srv *s, const char *needle, size_t count)
{
	if (h_wait_for(s->log, needle, count, 10000) == -1)
		fail_msg("log %s: '%s' not seen %zu times", s->log, needle,
			 count);
}

int srv_teardown(void **state)
{
	(void)state;
	h_kill_children();
	return 0;
}

const char *seed_build(const char *name)
{
	const char *dir = getenv("MT_SEED_DIR");
	static char bin[4][H_PATH_MAX];
	static unsigned next;
	char *out = bin[next++ % 4], cmd[3 * H_PATH_MAX];

	if (dir == NULL)
		dir = "../shared/seed";
	snprintf(cmd, sizeof(cmd), "%s/%s.c", dir, name);
	if (access(cmd, R_OK) == -1) {
		print_message("no %s: the tutorial's sources are not here; "
			      "skipped\n",
			      cmd);
		return NULL;
	}
	snprintf(out, H_PATH_MAX, "%s", h_path(name));
	snprintf(cmd, sizeof(cmd), "cc -w -o '%s' '%s/%s.c'", out, dir, name);
	if (system(cmd) != 0)
		fail_msg("cannot compile the seed's %s", name);
	return out;
}

pid_t seed_run(const char *bin, int port, int *stdin_fd)
{
	char portstr[16];
	int in[2];
	pid_t pid;

	snprintf(portstr, sizeof(portstr), "%d", port);
	assert_int_equal(pipe(in), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		h_die_with_parent();
		dup2(in[0], 0);
		close(in[0]);
		close(in[1]);
		if (bin == NULL || freopen("/dev/null", "w", stdout) == NULL)
			_exit(126);
		execl(bin, bin, "127.0.0.1", portstr, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	*stdin_fd = in[1];
	return pid;
}
