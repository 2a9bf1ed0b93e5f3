/*
 * NAME
 *	prober - sluice's connectivity prober: release held mail when the site is up
 * SYNOPSIS
 *	prober [-f] [-v] [-c config_dir]
 * DESCRIPTION
 *	prober finds out by itself when a part-time customer site has come
 *	online. Every few seconds it asks qmgr(8) which held domains have
 *	mail waiting, a closed gate and probe= set in the domains table.
 *	For each it connects to the domain's route (route=[host]:port, or
 *	the best MX host that is not this one for route=mx), reads the 220
 *	banner within probe_timeout and says QUIT. A success sends qmgr a
 *	trigger with source=probe, which opens the gate as any trigger
 *	does; a failure waits: probe= at first, then twice as long after
 *	each failure in a row, up to probe_max. Domains without mail, or
 *	whose gate is open, are not probed.
 *
 *	The log has one line per change of a domain's state,
 *	"probe: domain=D, state=reachable|unreachable, next=Ns, ...",
 *	never one per probe.
 *
 *	master(8) always runs one prober. -f logs to stderr; -v adds a
 *	debug line per probe. SIGHUP re-reads the configuration; SIGTERM
 *	stops; prober exits when master does.
 * SECURITY
 *	prober runs as mail_owner without capabilities. It opens TCP
 *	connections only to the routes of the domains table, sends nothing
 *	but QUIT, and reads at most a few banner lines of bounded length.
 *	It talks to qmgr over QUEUE_DIR/private/qmgr.
 * STANDARDS
 *	RFC 5321 (SMTP: the 220 greeting, QUIT), RFC 7505 (null MX).
 * SEE ALSO
 *	master(8), qmgr(8), deliver(8), fingerd(8), sluice.conf(5),
 *	sluice-domains(5)
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <unistd.h>

/* lib/util */
#include "util/events.h"
#include "util/log.h"
/* lib/mail */
#include "mail/config.h"
/* prober */
#include "prober/prober.h"

/* How often we look whether master still runs. */
#define PROBER_PARENT_MS	5000

static pid_t prober_parent;

/* prober_usage - print the synopsis and exit */
static _Noreturn void
prober_usage(void)
{
	fprintf(stderr, "usage: prober [-f] [-v] [-c config_dir]\n");
	exit(EX_USAGE);
}

/* prober_hup - SIGHUP: read the configuration again */
static void
prober_hup(int signo, void *ctx)
{
	prober_reload(ctx);
}

/* prober_term - SIGTERM or SIGINT: leave the loop; probes are abandoned */
static void
prober_term(int signo, void *ctx)
{
	struct prober *pr = ctx;

	log_info("stop on signal %d", signo);
	ev_stop(pr->loop);
}

/* prober_watch_parent - stop once master is gone (we were re-parented) */
static void
prober_watch_parent(void *ctx)
{
	struct prober *pr = ctx;

	if (getppid() != prober_parent) {
		log_info("stop: master exited");
		ev_stop(pr->loop);
		return;
	}
	(void)ev_timer_add(pr->loop, PROBER_PARENT_MS, prober_watch_parent, pr);
}

/* main - options, configuration, then the loop */
int
main(int argc, char **argv)
{
	const char *confdir = NULL;
	struct config_errors errs = { 0 };
	struct config *cfg = NULL;
	struct ev_loop *loop;
	struct prober *pr;
	bool foreground = false;
	size_t i;
	int ch;

	log_init("prober");
	while ((ch = getopt(argc, argv, "c:fv")) != -1) {
		if (ch == 'c')
			confdir = optarg;
		else if (ch == 'f')
			foreground = true;
		else if (ch == 'v')
			log_set_verbose(true);
		else
			prober_usage();
	}
	if (optind != argc)
		prober_usage();
	if (foreground)
		(void)log_set_dest(LOG_DEST_STDERR, NULL);
	if (config_load(confdir, &cfg, &errs) < 0) {
		for (i = 0; i < errs.n; i++)
			log_warn("%s", errs.msg[i]);
		log_fatal_code(EX_CONFIG, "load configuration: %zu errors", errs.n);
	}
	config_errors_free(&errs);
	if (!foreground && cfg->log_file[0] != '\0' &&
	    log_set_dest(LOG_DEST_FILE, cfg->log_file) < 0)
		log_warn("open log file %s: %s", cfg->log_file, strerror(errno));

	/* A site that hangs up before our QUIT must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	/* Started by master: die with it, and notice if the signal is missed. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	prober_parent = getppid();

	loop = ev_loop_new();
	pr = prober_new(loop, confdir, cfg);
	if (ev_signal_add(loop, SIGHUP, prober_hup, pr) < 0 ||
	    ev_signal_add(loop, SIGTERM, prober_term, pr) < 0 ||
	    ev_signal_add(loop, SIGINT, prober_term, pr) < 0)
		log_fatal("watch signals: %s", strerror(errno));
	(void)ev_timer_add(loop, PROBER_PARENT_MS, prober_watch_parent, pr);
	log_info("daemon started");
	if (ev_run(loop) < 0)
		log_fatal("run event loop: %s", strerror(errno));
	prober_free(&pr);
	ev_loop_free(&loop);
	return 0;
}
