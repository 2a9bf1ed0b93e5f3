/*
 * NAME
 *	sluice-turn - release a part-time site's mail from every MX of its ISP
 *
 * SYNOPSIS
 *	sluice-turn etrn [options] DOMAIN...
 *	sluice-turn wait [options] DOMAIN...
 *	sluice-turn check [--messages N] [--bytes M] [--older-than T]
 *	    [options] DOMAIN...
 *	sluice-turn atrn --server HOST --auth-user U --auth-password-file F
 *	    [--mta HOST] [--mta-port N] [--lmtp] [options] DOMAIN...
 *
 * DESCRIPTION
 *	The site's side of sluice, run by the customer (from an ip-up hook,
 *	cron or by hand). etrn looks up every MX of each domain (c-ares),
 *	drops the site's own addresses and sends ETRN (RFC 1985) to each
 *	remaining host, in rounds paced by --retry, optionally between a
 *	--link-up and a --link-down command. wait asks every MX by finger
 *	(RFC 1288, "?DOMAIN") until nothing waits and nothing is in flight.
 *	check reads the same status and exits 0 when a threshold is met.
 *	One line per MX on stderr (and syslog with -s); exit codes follow
 *	sysexits(3). The full page is man/sluice-turn.1.
 *
 * SECURITY
 *	Runs as the invoking user, needs no privilege and writes no file.
 *	Talks to the ISP's MX hosts (SMTP, finger) and DNS servers, none of
 *	which is trusted: every reply line is bounded, every number checked.
 *	AUTH is sent only over TLS; its password comes from a file, never
 *	from the command line, which other local users can read in ps(1).
 *
 * STANDARDS
 *	RFC 1985 (ETRN), RFC 1288 (finger), RFC 5321 (SMTP, implicit MX),
 *	RFC 3207 (STARTTLS), RFC 4954 and RFC 4616 (AUTH PLAIN).
 *
 * SEE ALSO
 *	sluice-turn(1), etrn(8sluice), fingerd(8sluice), fetchmail(1)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* lib/util */
#include "util/cmdline.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
/* turn */
#include "turn/turn.h"

#define TURN_RETRY_MAX		32	/* pauses in a --retry series */
#define TURN_CONF_LINE_MAX	1024

/* turn_set_time - a time option in seconds, 1 .. 10 days; 0/-1 */
static int
turn_set_time(const char *arg, long *v)
{
	long long t;

	if (turn_parse_time(arg, &t) < 0 || t < 1 || t > 864000)
		return -1;
	*v = (long)t;
	return 0;
}

/* turn_set_port - a TCP port number; 0/-1 */
static int
turn_set_port(const char *arg, unsigned *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || n < 1 || n > 65535)
		return -1;
	*v = (unsigned)n;
	return 0;
}

/* turn_set_count - a count or a size: digits, with k, M or G for sizes */
static int
turn_set_count(const char *arg, long long *v, bool size)
{
	unsigned long long n = 0, mul = 1;
	size_t i;

	for (i = 0; arg[i] >= '0' && arg[i] <= '9'; i++)
		if ((n = n * 10 + (unsigned)(arg[i] - '0')) > TURN_BYTES_MAX)
			return -1;
	if (i == 0)
		return -1;
	if (size && arg[i] != '\0' && arg[i + 1] == '\0')
		mul = arg[i] == 'k' ? 1024ULL : arg[i] == 'M' ? 1048576ULL :
		    arg[i] == 'G' ? 1073741824ULL : 0;
	else if (arg[i] != '\0')
		mul = 0;
	if (mul == 0 || n > TURN_BYTES_MAX / mul)
		return -1;
	*v = (long long)(n * mul);
	return 0;
}

/* turn_set_retry - "1m,2m,5m,10m": the pauses between rounds */
static int
turn_set_retry(struct turn_opts *o, const char *arg)
{
	char *copy = xstrdup(arg), *tok, *save = NULL;
	long long t;

	free(o->retry);
	o->retry = NULL;
	o->nretry = 0;
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (o->nretry == TURN_RETRY_MAX || turn_parse_time(tok, &t) < 0 ||
		    t > 86400) {
			free(copy);
			return -1;
		}
		o->retry = xreallocarray(o->retry, o->nretry + 1, sizeof(*o->retry));
		o->retry[o->nretry++] = (uint64_t)t;
	}
	free(copy);
	return 0;
}

/* The options, for the command line and the config file alike. */
enum turn_key {
	K_CONFIG = 'c', K_DNS = 'D', K_PORT = 'p', K_SYSLOG = 's',
	K_TIMEOUT = 't', K_VERBOSE = 'v', K_HELP = 'h', K_VERSION = 'V',
	K_FINGER_PORT = 256, K_SELF, K_TLS, K_HELO, K_AUTH_USER, K_AUTH_FILE,
	K_RETRY, K_LINK_UP, K_LINK_DOWN, K_INTERVAL, K_IO_TIMEOUT, K_MESSAGES,
	K_BYTES, K_OLDER_THAN, K_BIND, K_SERVER, K_ODMR_PORT, K_ODMRS,
	K_CA_FILE, K_VERIFY, K_MTA, K_MTA_PORT, K_LMTP,
};

static const struct turn_option {
	const char *name;
	int has_arg;
	int key;
	const char *what;	/* the value's grammar, for the error */
} turn_options[] = {
	{ "config", 1, K_CONFIG, "a file name" },
	{ "dns", 1, K_DNS, "addresses such as 127.0.0.1:53 or [::1]:53" },
	{ "port", 1, K_PORT, "a port number" },
	{ "finger-port", 1, K_FINGER_PORT, "a port number" },
	{ "self", 1, K_SELF, "a numeric IP address" },
	{ "bind", 1, K_BIND, "a numeric IP address" },
	{ "tls", 1, K_TLS, "none, may or encrypt" },
	{ "helo", 1, K_HELO, "a host name" },
	{ "auth-user", 1, K_AUTH_USER, "a user name" },
	{ "auth-password-file", 1, K_AUTH_FILE, "a file name" },
	{ "retry", 1, K_RETRY, "pauses such as 1m,2m,5m,10m (at most 32, each <= 1d)" },
	{ "link-up", 1, K_LINK_UP, "a shell command" },
	{ "link-down", 1, K_LINK_DOWN, "a shell command" },
	{ "timeout", 1, K_TIMEOUT, "a time such as 30m (1s .. 10d)" },
	{ "interval", 1, K_INTERVAL, "a time such as 5s (1s .. 10d)" },
	{ "io-timeout", 1, K_IO_TIMEOUT, "a time such as 60s (1s .. 10d)" },
	{ "messages", 1, K_MESSAGES, "a count" },
	{ "bytes", 1, K_BYTES, "a size such as 500k or 2M" },
	{ "older-than", 1, K_OLDER_THAN, "a time such as 6h" },
	{ "server", 1, K_SERVER, "a host name or address" },
	{ "odmr-port", 1, K_ODMR_PORT, "a port number" },
	{ "odmrs", 0, K_ODMRS, "" },
	{ "ca-file", 1, K_CA_FILE, "a file name" },
	{ "verify", 0, K_VERIFY, "" },
	{ "mta", 1, K_MTA, "a host name or address" },
	{ "mta-port", 1, K_MTA_PORT, "a port number" },
	{ "lmtp", 0, K_LMTP, "" },
	{ "syslog", 0, K_SYSLOG, "" },
	{ "verbose", 0, K_VERBOSE, "" },
	{ "help", 0, K_HELP, "" },
	{ "version", 0, K_VERSION, "" },
};
#define TURN_NOPTIONS (sizeof(turn_options) / sizeof(turn_options[0]))

/* turn_numeric_ok - is s a numeric IPv4 or IPv6 address? */
static bool
turn_numeric_ok(const char *s)
{
	struct in6_addr a6;

	return inet_pton(AF_INET, s, &a6) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

/* turn_set - apply one option; 0, or -1 when the value does not parse */
static int
turn_set(struct turn_opts *o, int key, const char *arg)
{
	static const char *const tls[] = { "none", "may", "encrypt" };
	size_t i;

	switch (key) {
	case K_DNS: o->dns_servers = arg; return 0;
	case K_PORT: return turn_set_port(arg, &o->port);
	case K_FINGER_PORT: return turn_set_port(arg, &o->finger_port);
	case K_SELF:
		if (!turn_numeric_ok(arg))
			return -1;
		o->self = xreallocarray(o->self, o->nself + 1, sizeof(*o->self));
		o->self[o->nself++] = xstrdup(arg);
		return 0;
	case K_BIND:
		if (!turn_numeric_ok(arg))
			return -1;
		o->bind = arg;
		return 0;
	case K_TLS:
		for (i = 0; i < sizeof(tls) / sizeof(tls[0]); i++)
			if (strcmp(arg, tls[i]) == 0) {
				o->tls = (enum turn_tls)i;
				return 0;
			}
		return -1;
	case K_HELO:
		return address_domain_ok(arg, strlen(arg)) ? (o->helo = arg, 0) : -1;
	case K_AUTH_USER:
		return arg[strcspn(arg, "\r\n")] == '\0' ? (o->auth_user = arg, 0) : -1;
	case K_AUTH_FILE: o->auth_file = arg; return 0;
	case K_RETRY: return turn_set_retry(o, arg);
	case K_LINK_UP: o->link_up = arg; return 0;
	case K_LINK_DOWN: o->link_down = arg; return 0;
	case K_TIMEOUT: return turn_set_time(arg, &o->timeout);
	case K_INTERVAL: return turn_set_time(arg, &o->interval);
	case K_IO_TIMEOUT: return turn_set_time(arg, &o->io_timeout);
	case K_MESSAGES: return turn_set_count(arg, &o->messages, false);
	case K_BYTES: return turn_set_count(arg, &o->bytes, true);
	case K_OLDER_THAN: return turn_parse_time(arg, &o->older_than);
	case K_SERVER: o->server = arg; return 0;
	case K_ODMR_PORT: return turn_set_port(arg, &o->odmr_port);
	case K_ODMRS: o->odmrs = true; return 0;
	case K_CA_FILE: o->ca_file = arg; return 0;
	case K_VERIFY: o->verify = true; return 0;
	case K_MTA: o->mta = arg; return 0;
	case K_MTA_PORT: return turn_set_port(arg, &o->mta_port);
	case K_LMTP: o->lmtp = true; return 0;
	case K_SYSLOG: o->syslog = true; return 0;
	case K_VERBOSE: o->verbose = true; return 0;
	}
	return 0;
}

/* turn_option_by_key - the table row of key (always found) */
static const struct turn_option *
turn_option_by_key(int key)
{
	size_t i;

	for (i = 0; i < TURN_NOPTIONS; i++)
		if (turn_options[i].key == key)
			break;
	return &turn_options[i < TURN_NOPTIONS ? i : 0];
}

/*
 * turn_config_load - "name = value" lines (the long option names; "#"
 * comments; a flag takes yes or no). Values are kept for the whole run.
 * 0, or EX_CONFIG / EX_NOINPUT after naming the file, line and fix.
 */
static int
turn_config_load(struct turn_opts *o, const char *path)
{
	char line[TURN_CONF_LINE_MAX], *name, *value, *end;
	const struct turn_option *opt;
	unsigned lineno = 0;
	FILE *fp;
	size_t i;

	if ((fp = fopen(path, "re")) == NULL) {
		turn_report("open config %s: %s", path, strerror(errno));
		return EX_NOINPUT;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			turn_report("%s:%u: line longer than %d bytes", path, lineno,
			    TURN_CONF_LINE_MAX - 2);
			fclose(fp);
			return EX_CONFIG;
		}
		line[strcspn(line, "#\r\n")] = '\0';
		name = line + strspn(line, " \t");
		if (*name == '\0')
			continue;
		value = name + strcspn(name, " \t=");
		end = value;
		value += strspn(value, " \t");
		if (*value == '=')
			value += 1 + strspn(value + 1, " \t");
		*end = '\0';
		for (end = value + strlen(value); end > value &&
		    (end[-1] == ' ' || end[-1] == '\t'); end--)
			end[-1] = '\0';
		for (i = 0, opt = NULL; i < TURN_NOPTIONS; i++)
			if (strcmp(turn_options[i].name, name) == 0)
				opt = &turn_options[i];
		if (opt == NULL || opt->key == K_CONFIG || opt->key == K_HELP ||
		    opt->key == K_VERSION) {
			turn_report("%s:%u: unknown setting \"%s\"; the settings are "
			    "the long options of sluice-turn(1)", path, lineno, name);
			fclose(fp);
			return EX_CONFIG;
		}
		if (!opt->has_arg && strcmp(value, "no") == 0)
			continue;
		if ((!opt->has_arg && strcmp(value, "yes") != 0) ||
		    turn_set(o, opt->key, xstrdup(value)) < 0) {
			turn_report("%s:%u: %s = \"%s\": want %s", path, lineno, name,
			    value, opt->has_arg ? opt->what : "yes or no");
			fclose(fp);
			return EX_CONFIG;
		}
	}
	fclose(fp);
	return 0;
}

/* The subcommands. */
static const struct turn_cmd {
	const char *name;
	int (*run)(const struct turn_opts *, char *const *, size_t);
	const char *usage;
} turn_cmds[] = {
	{ "etrn", turn_etrn_run, "etrn [options] DOMAIN...   ETRN to every MX" },
	{ "wait", turn_wait_run, "wait [options] DOMAIN...   until every MX "
	    "delivered all" },
	{ "check", turn_check_run, "check [--messages N] [--bytes M] "
	    "[--older-than T] DOMAIN...\n                            exit 0 if "
	    "a threshold is met, 1 if not" },
	{ "atrn", turn_atrn_run, "atrn --server HOST --auth-user U "
	    "--auth-password-file F [--mta HOST]\n                            "
	    "[--mta-port N] [--lmtp] DOMAIN...   ODMR (RFC 2645)" },
};

static void turn_usage(FILE *fp);

/* turn_help - turn_usage as a cmdline_usage_fn */
static void
turn_help(FILE *fp, const void *ctx)
{
	(void)ctx;
	turn_usage(fp);
}

/* turn_usage - the synopsis to stderr (stdout for --help) */
static void
turn_usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: sluice-turn COMMAND [options] DOMAIN...\n");
	for (i = 0; i < sizeof(turn_cmds) / sizeof(turn_cmds[0]); i++)
		fprintf(fp, "  sluice-turn %s\n", turn_cmds[i].usage);
	fprintf(fp, "options: -c|--config FILE, -D|--dns SERVERS, -p|--port N, "
	    "--finger-port N,\n  --self ADDR, --bind ADDR, --tls none|may|encrypt, "
	    "--helo NAME,\n  --auth-user U, --auth-password-file F, "
	    "--retry 1m,2m,5m, --link-up CMD,\n  --link-down CMD, -t|--timeout T, "
	    "--interval T, --io-timeout T,\n  --messages N, --bytes M, "
	    "--older-than T, --server HOST, --odmr-port N,\n  --odmrs, --ca-file F, "
	    "--verify, --mta HOST, --mta-port N, --lmtp,\n  -s|--syslog, -v|--verbose, -h|--help, "
	    "-V|--version; see sluice-turn(1)\n");
}

/* turn_config_arg - the -c/--config file named in argv, or NULL */
static const char *
turn_config_arg(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], "--config=", 9) == 0)
			return argv[i] + 9;
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct turn_opts o = { .port = 25, .finger_port = 79, .tls = TURN_TLS_MAY,
	    .timeout = 3600, .interval = 5, .io_timeout = 60, .messages = -1,
	    .bytes = -1, .older_than = -1 };
	struct option lopts[TURN_NOPTIONS + 1];
	const struct turn_cmd *cmd = NULL;
	char host[256], **domains;
	const char *conf;
	size_t i, n;
	int ch, r;

	cmdline_std(argc, argv, "sluice-turn", turn_help, NULL);
	log_init("turn");
	/*
	 * A peer that closes while we write must be an error to handle,
	 * not a signal that kills us: OpenSSL writes without MSG_NOSIGNAL.
	 */
	(void)signal(SIGPIPE, SIG_IGN);
	/* The config file first, so that the command line overrides it. */
	if ((conf = turn_config_arg(argc, argv)) != NULL &&
	    (r = turn_config_load(&o, conf)) != 0)
		return r;
	memset(lopts, 0, sizeof(lopts));
	for (i = 0; i < TURN_NOPTIONS; i++)
		lopts[i] = (struct option){ turn_options[i].name,
		    turn_options[i].has_arg, NULL, turn_options[i].key };
	while ((ch = getopt_long(argc, argv, "c:D:p:st:vhV", lopts, NULL)) != -1) {
		if (ch == K_HELP) {
			turn_usage(stdout);
			return 0;
		}
		if (ch == K_VERSION) {
			cmdline_version(stdout, "sluice-turn");
			return 0;
		}
		if (ch == '?') {
			turn_usage(stderr);
			return EX_USAGE;
		}
		if (turn_set(&o, ch, optarg) < 0) {
			turn_report("bad value \"%s\" for --%s: want %s", optarg,
			    turn_option_by_key(ch)->name, turn_option_by_key(ch)->what);
			return EX_USAGE;
		}
	}
	for (i = 0; optind < argc && i < sizeof(turn_cmds) / sizeof(turn_cmds[0]); i++)
		if (strcmp(argv[optind], turn_cmds[i].name) == 0)
			cmd = &turn_cmds[i];
	if (cmd == NULL || argc - optind < 2) {
		if (optind < argc && cmd == NULL)
			turn_report("unknown command \"%s\"", argv[optind]);
		turn_usage(stderr);
		return EX_USAGE;
	}
	if (cmd->run == NULL) {
		turn_report("%s: not available in this build", cmd->name);
		return EX_UNAVAILABLE;
	}
	/* A domain goes into command lines: only a valid name, lowercased. */
	n = (size_t)(argc - optind - 1);
	domains = argv + optind + 1;
	for (i = 0; i < n; i++) {
		char *d = domains[i], *p;

		if (d[0] == '[' || !address_domain_ok(d, strlen(d))) {
			turn_report("\"%s\" is not a domain name", d);
			return EX_USAGE;
		}
		for (p = d; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	}
	if (o.helo == NULL) {
		if (gethostname(host, sizeof(host) - 1) != 0 ||
		    !address_domain_ok(host, strnlen(host, sizeof(host) - 1)))
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		o.helo = host;
	}
	if (o.auth_user != NULL && o.auth_file == NULL) {
		turn_report("--auth-user needs --auth-password-file (a password on "
		    "the command line shows in ps)");
		return EX_USAGE;
	}
	if (o.syslog) {
		turn_report_syslog();
	}
	r = cmd->run(&o, domains, n);
	for (i = 0; i < o.nself; i++)
		free(o.self[i]);
	free(o.self);
	free(o.retry);
	return r;
}
