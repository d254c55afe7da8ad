/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server_main.c - a server program's life around its concurrency model:
 * options, start-up, shutdown and exit status.  The contract is in
 * server.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lean.h"
#include "net.h"
#include "server.h"
#include "upgrade.h"

int server_main(int argc, char *argv[], const struct server_model *model)
{
	struct config cfg;
	struct server srv;
	char err[NET_ERR_MAX];

	if (model->lean_stacks)
		lean_stacks(argv);
	switch (cli_parse(&cfg, model->kind, argc, argv, err, sizeof(err))) {
	case CLI_HELP:
		cli_usage(stdout, model->kind);
		return cli_close_output(stdout, cfg.prog, stderr);
	case CLI_VERSION:
		cli_version(stdout, cfg.prog);
		return cli_close_output(stdout, cfg.prog, stderr);
	case CLI_ERROR:
		fprintf(stderr, "%s: %s\n", cfg.prog, err);
		return 2;
	case CLI_RUN:
		break;
	}
	/* Before server_open unsets NOTIFY_SOCKET; without the path a
	 * SIGUSR2 only logs that it cannot upgrade. */
	(void)upgrade_init(argv);
	if (server_open(&srv, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", cfg.prog, err);
		return 1;
	}
	srv.model = model;
	if (srv.nofile_needed > 0)
		fprintf(stderr,
			"%s: --max-clients %ld needs %lu descriptors, "
			"RLIMIT_NOFILE allows %lu (its hard limit): newcomers "
			"past that are told \"server full\"\n",
			cfg.prog, srv.seats.max, srv.nofile_needed, srv.nofile);
	if (server_catch_signals(&srv) == -1 || server_start_udp(&srv) == -1 ||
	    server_start_metrics(&srv) == -1) {
		fprintf(stderr, "%s: cannot start threads: %s\n", cfg.prog,
			strerror(errno));
		server_close(&srv, stderr);
		return 1;
	}
	/* "listening" comes once every thread runs: from here for UDP
	 * only, from the model's serve function (server_ready) otherwise. */
	if (!cfg.tcp) {
		server_ready(&srv);
		server_wait_stop(&srv);
	} else if (model->serve(&srv) == -1) {
		fprintf(stderr, "%s: cannot start threads: %s\n", cfg.prog,
			strerror(errno));
		server_close(&srv, stderr);
		return 1;
	}
	return server_close(&srv, stderr);
}
