/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * harness_haproxy.c - see haproxy.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "haproxy.h"

bool hap_listening(int port)
{
	char want[32], row[256];
	FILE *f = fopen("/proc/net/tcp", "r");
	bool found = false;

	if (f == NULL)
		return false;
	snprintf(want, sizeof(want), ":%04X 00000000:0000 0A", port);
	while (!found && fgets(row, sizeof(row), f) != NULL)
		found = strstr(row, want) != NULL;
	fclose(f);
	return found;
}

pid_t hap_start(const char *bin, const char *conf, const char *err, int port)
{
	long long deadline = h_now_ms() + 10000;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		h_die_with_parent();
		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, "haproxy", "-f", conf, "-db", (char *)NULL);
		_exit(127);
	}
	while (h_now_ms() < deadline) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return -1;
		if (hap_listening(port))
			return pid;
		h_sleep_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fail_msg("haproxy did not listen on %d; see %s", port, err);
	return -1;
}

void hap_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

char *hap_which(char *bin, size_t size)
{
	if (h_which(bin, size, "haproxy") != NULL)
		return bin;
	print_message("haproxy not found: install the Debian package "
		      "haproxy\n");
	return NULL;
}
