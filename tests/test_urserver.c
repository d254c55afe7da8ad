/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_urserver.c - where io_uring is not to be had, urserver says so in
 * one line and exits 3.  The kernel's refusal is real: the child runs
 * under a seccomp filter that answers io_uring_setup(2) with the errno a
 * kernel without io_uring gives (ENOSYS) or one with
 * kernel.io_uring_disabled=2 (EPERM).  (What urserver shares with every
 * model is in test_shared.c and the MT_MODEL=urserver runs.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425 /* every architecture's number */
#endif

/* The filter: io_uring_setup fails with err, everything else runs. */
static int refuse_io_uring(int err)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K,
			 SECCOMP_RET_ERRNO |
				 ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]),
				  .filter = code};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* Runs urserver ARG... under the filter (err; 0: none), stderr to
 * err_path; returns its exit status, or -1. */
static int run_refused(int err, const char *err_path, const char *arg1,
		       const char *arg2)
{
	const char *bin = h_bin("urserver");
	int status;
	pid_t pid = fork();

	if (pid == -1)
		return -1;
	if (pid == 0) {
		int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd == -1 || dup2(fd, 2) == -1 || dup2(fd, 1) == -1)
			_exit(125);
		if (err != 0 && refuse_io_uring(err) == -1)
			_exit(126);
		alarm(20); /* a server that runs after all stops here */
		execl(bin, "urserver", arg1, arg2, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void expect_refusal(int err, const char *why)
{
	const char *path = h_path("refused.err");
	char line[200];
	char *text;
	size_t len;

	assert_int_equal(run_refused(err, path, "--no-udp", "0"), 3);
	text = h_slurp(path, &len);
	assert_non_null(text);
	snprintf(line, sizeof(line),
		 "urserver: io_uring is not available: io_uring_setup: %s\n",
		 why);
	assert_string_equal(text, line); /* that line, nothing else */
	free(text);
}

/* A kernel built without io_uring. */
static void test_no_io_uring(void **state)
{
	(void)state;
	expect_refusal(ENOSYS, strerror(ENOSYS));
}

/* sysctl kernel.io_uring_disabled=2, or a container's seccomp profile. */
static void test_io_uring_disabled(void **state)
{
	(void)state;
	expect_refusal(EPERM, strerror(EPERM));
}

/* --help needs no ring. */
static void test_help_without_a_ring(void **state)
{
	const char *path = h_path("help.out");

	(void)state;
	assert_int_equal(run_refused(ENOSYS, path, "--help", NULL), 0);
	assert_int_equal(h_count_in_file(path, "Usage: urserver"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_io_uring),
		cmocka_unit_test(test_io_uring_disabled),
		cmocka_unit_test(test_help_without_a_ring),
	};

	return cmocka_run_group_tests_name("urserver", tests, NULL, NULL);
}
