/*
 * cli - the modules of the sluice operator tool, shared between its
 * main() (cli/sluice.c) and its unit test (t/cli_test.c).
 *
 * Every command is one row of the table in cli_cmd.c: it parses its own
 * arguments completely before it touches the configuration or the queue,
 * so that a usage error never has a side effect, and it returns a
 * sysexits(3) code instead of exiting, so that tests can call it.
 *
 * Messages for the operator go to stderr as "sluice: what: why"; the
 * results a command was asked for go to the FILE it was given (stdout in
 * the program), so that scripts can separate the two.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "util/ipc.h"
#include "mail/qctl.h"

struct config;

/* What every command gets: the global options and the lazily loaded config. */
struct cli {
	const char *config_dir;	/* -c DIR, or NULL for config_default_dir() */
	bool verbose;		/* -v */
	FILE *out;		/* results (stdout) */
	struct config *cfg;	/* loaded by cli_config_need(); owned */
};

/* A command: argv[0] is its name, as for main(). Returns an EX_* code. */
typedef int cli_run_fn(struct cli *cli, int argc, char **argv);

/* cli_dispatch - run the command named by argv[0]; EX_USAGE for none/unknown */
int cli_dispatch(struct cli *cli, int argc, char **argv);
/*
 * cli_usage - print to fp the usage lines that start with the words in
 * what ("queue list", "config"; NULL: all of them); returns EX_USAGE.
 */
int cli_usage(FILE *fp, const char *what);
/* cli_err - print "sluice: " and the message to stderr */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cli_config_load - (re)load the configuration, printing errors; 0 or EX_CONFIG */
int cli_config_load(struct cli *cli, bool warnings);
/* cli_config_need - load the configuration once; 0, or the EX_* code to exit with */
int cli_config_need(struct cli *cli);
/* cli_become_queue_owner - as root, switch to the queue's owner; 0 or EX_* */
int cli_become_queue_owner(struct cli *cli, const char *what);
/*
 * cli_request - send req to qmgr (as the caller: qmgr checks and logs its
 * uid); when no qmgr runs, serve it here on the index, as the queue's
 * owner when run as root. emit sees every reply record up to type=end.
 * 0 answered, or an EX_* code (EX_NOPERM: the caller may not read the
 * index) with the reason in *why_r (new string, or NULL when printed).
 */
int cli_request(struct cli *cli, const char *what, const struct ipc_rec *req,
    qctl_emit_fn *emit, void *ctx, char **why_r);
/*
 * cli_secret_check - can the daemons (mail_owner, or we when not root)
 * read the secrets file path of parameter param, and is it kept from
 * other users? Prints each problem with the fix (as a warning unless
 * strict); the number of problems. A missing file is none.
 */
int cli_secret_check(struct cli *cli, const char *param, const char *path, bool strict);
/*
 * cli_config_check_files - what loading the configuration cannot see
 * (cli_check.c): mail_owner, daemon_directory, queue_directory, secrets,
 * certificates, operator_group; EX_CONFIG if strict and any problem
 */
int cli_config_check_files(struct cli *cli, bool strict);
/* cli_config_check_file - the same, of cli->cfg loaded from file (its name in messages: shown) */
int cli_config_check_file(struct cli *cli, bool strict, const char *file, const char *shown);
/*
 * cli_config_edit - config -e NAME=VALUE... (remove false) or -X NAME...
 * (remove true): edit sluice.conf safely (cli_confedit.c); an EX_* code
 */
int cli_config_edit(struct cli *cli, int argc, char **argv, bool remove);
/*
 * cli_conf_find - the line of the sluice.conf at path that sets name
 * last, or 0; its value (continuations joined) in a new *value_r (NULL
 * when not set) unless value_r is NULL. Reads the file as text only, so
 * it works on a file the loader rejects.
 */
unsigned int cli_conf_find(const char *path, const char *name, char **value_r);
/* cli_config_default - the default text of parameter name (config -d), new string; NULL: no memory */
char *cli_config_default(const char *name);
/* cli_master - is a master running for cfg's queue? 1 (*pid_r set), 0, -1 (errno) */
int cli_master(const struct config *cfg, pid_t *pid_r);
/* cli_clear - release what the commands loaded */
void cli_clear(struct cli *cli);

/* The commands (cli_control.c, cli_queue.c, cli_config.c). */
int cli_cmd_start(struct cli *cli, int argc, char **argv);
int cli_cmd_stop(struct cli *cli, int argc, char **argv);
int cli_cmd_status(struct cli *cli, int argc, char **argv);
int cli_cmd_reload(struct cli *cli, int argc, char **argv);
int cli_cmd_queue(struct cli *cli, int argc, char **argv);
int cli_cmd_flush(struct cli *cli, int argc, char **argv);
int cli_cmd_config(struct cli *cli, int argc, char **argv);
/* cli_dns.c: sluice check DOMAIN, the DNS setup check */
int cli_cmd_check(struct cli *cli, int argc, char **argv);
/*
 * cli_dns_check_all - config check's DNS part: the setup of every domain
 * of cli->cfg, its problems printed as warnings (never an error: the
 * exit code is not changed)
 */
void cli_dns_check_all(struct cli *cli);

/* cli_json.c: JSON text without a library. */
/* cli_json_string - write s as a JSON string; invalid UTF-8 becomes U+FFFD */
void cli_json_string(FILE *fp, const char *s);
/* cli_json_key - write "name": preceded by a comma unless first */
void cli_json_key(FILE *fp, const char *name, bool first);

/*
 * cli_qfmt.c: the reply records of lib/mail/proto.h as text and JSON.
 * Each returns 0, or -1 when a field the line needs is missing or bad
 * (the caller reports the record as malformed).
 */
/* cli_put_text - write s with control characters shown as '?' */
void cli_put_text(FILE *fp, const char *s);
/* The gate of a domain as qmgr reported it (lib/mail/qctl.h). */
struct cli_gate {
	char state[16];		/* held, open, backup, relay; "" unknown */
	unsigned long long until;	/* an open gate's lease end; 0 none */
	char opened_by[16];	/* the trigger that opened it; "" none */
	char reason[96];	/* "ATRN session", "probing"...; "" none */
};

/* One destination domain of a queued message: a type=entry record. */
struct cli_qdom {
	char domain[256];
	unsigned long long next_try, expiry, attempts;
	char *error;		/* the last delivery error, or NULL */
	char **rcpt;		/* its pending recipients */
	size_t nrcpt;
	struct cli_gate gate;
};

/* One queued message: its type=entry records (one per domain) together. */
struct cli_qmsg {
	char id[QUEUE_ID_LEN + 1];	/* "" while empty */
	char *sender;
	unsigned long long size, arrival;
	bool hold;
	struct cli_qdom *dom;
	size_t ndom;
};

/*
 * cli_qmsg_add - add a type=entry record to m: 0 added, 1 it belongs to
 * another message (m is whole: show it, clear it, add again), -1 malformed.
 */
int cli_qmsg_add(struct cli_qmsg *m, const struct ipc_rec *rec);
/* cli_qmsg_clear - release what m holds and make it empty */
void cli_qmsg_clear(struct cli_qmsg *m);
/* cli_list_header - mailq's column header */
void cli_list_header(FILE *fp);
/* cli_list_text - one message as a mailq block */
void cli_list_text(FILE *fp, const struct cli_qmsg *m);
/* cli_list_footer - "-- N Kbytes in M Requests." or "Mail queue is empty" */
void cli_list_footer(FILE *fp, unsigned long long bytes, unsigned long long messages);
/* cli_list_json - one message as one line of JSON, naming host */
void cli_list_json(FILE *fp, const struct cli_qmsg *m, const char *host);
/* cli_gate_parse - the gate fields of a type=entry or type=domain record; 0/-1 */
int cli_gate_parse(const struct ipc_rec *rec, struct cli_gate *g);
/* cli_gate_text - the gate for people: "held", "open until 12:00:00 (etrn)" */
void cli_gate_text(char *buf, size_t size, const struct cli_gate *g);
/* cli_gate_json - the gate as a JSON object (sluice(8), JSON OUTPUT) */
void cli_gate_json(FILE *fp, const struct cli_gate *g);

/* The qshape age buckets (minutes), as the b* fields of type=domain. */
#define CLI_NBUCKETS 10

struct cli_summary_row {
	char domain[256];
	unsigned long long messages, bytes;
	unsigned long long oldest;	/* arrival time of the oldest, 0: none */
	unsigned long long bucket[CLI_NBUCKETS];
	struct cli_gate gate;		/* state "" for TOTAL */
	char home[300];			/* a held domain's home host, "host:port"; "" if none */
	unsigned long long max_messages, max_bytes; /* the domain's caps (quota.h); 0 none */
};

/* cli_summary_parse - read a type=domain (or type=total, as TOTAL) record into row; 0/-1 */
int cli_summary_parse(const struct ipc_rec *rec, struct cli_summary_row *row);
/* cli_summary_add - add row's counts into total (the TOTAL row) */
void cli_summary_add(struct cli_summary_row *total, const struct cli_summary_row *row);
/* cli_summary_header - the qshape-like column header */
void cli_summary_header(FILE *fp);
/* cli_summary_text - one row of the table; now gives the oldest's age */
void cli_summary_text(FILE *fp, const struct cli_summary_row *row, time_t now);
/* cli_summary_json - one row as one line of JSON */
void cli_summary_json(FILE *fp, const struct cli_summary_row *row);
/* cli_summary_json_fields - the row's members after a "{" the caller wrote
 * (with members of its own and a comma), then "}" and the newline */
void cli_summary_json_fields(FILE *fp, const struct cli_summary_row *row);
/* cli_fleet_summary - queue summary --fleet [--json] (cli_fleet.c): this
 * host's and every peer's; EX_UNAVAILABLE when some host did not answer */
int cli_fleet_summary(struct cli *cli, bool json);

#endif
