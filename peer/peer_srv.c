/*
 * peer_srv - qmgr's triggers in, one child per pass and peer, the tries
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* lib/util */
#include "util/events.h"
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/peer.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
/* peer */
#include "peer/peer.h"

struct peer_srv {
	struct ev_loop *loop;
	struct config *cfg;
	int lfd;		/* QUEUE_DIR/private/peer */
	size_t children;	/* passes under way */
};

/* peer_elapsed - seconds since start (monotonic ms), for delay= */
static double
peer_elapsed(uint64_t start)
{
	return (double)(ev_now() - start) / 1000.0;
}

void
peer_pass_run(const struct config *cfg, size_t i, const char *arg, const char *source)
{
	const struct hostport *hp = &cfg->peers.v[i];
	struct peer_result r;
	char *secret = NULL, *err = NULL, *cmd;
	long delay = cfg->peer_retry_delay;
	long tries = cfg->peer_retry_limit, t;
	uint64_t start = ev_now();

	/* Read at each pass: a new secret counts without a reload. */
	if (peer_secret_load(cfg->peer_secret_file, &secret, &err) < 0) {
		log_warn("peer: domain=%s, peer=%s:%s, source=%s, result=not passed (%s)",
		    arg, hp->host, hp->port, source, err);
		free(err);
		return;
	}
	cmd = xasprintf("ETRN %s", arg);
	for (t = 1; t <= tries; t++) {
		int rc = peer_call(hp, peer_source(&cfg->smtp_listen), cfg->myhostname,
		    secret, cmd,
		    (int)(cfg->peer_timeout * 1000), NULL, NULL, &r);

		if (rc == 0 && !r.temporary) {
			log_info("peer: domain=%s, peer=%s, source=%s, result=%s, try=%ld/%ld, "
			    "delay=%.2f", arg, r.relay, source, r.text, t, tries,
			    peer_elapsed(start));
			break;
		}
		if (rc < 0 && !r.temporary) {
			/* A wrong secret or a refused login: trying again cannot help. */
			log_warn("peer: domain=%s, peer=%s, source=%s, result=failed (%s), "
			    "try=%ld/%ld, delay=%.2f", arg, r.relay, source, r.text, t, tries,
			    peer_elapsed(start));
			break;
		}
		if (t == tries) {
			log_warn("peer: domain=%s, peer=%s, source=%s, result=gave up after "
			    "%ld tries (%s), delay=%.2f", arg, r.relay, source, tries, r.text,
			    peer_elapsed(start));
			break;
		}
		log_info("peer: domain=%s, peer=%s, source=%s, result=deferred (%s), "
		    "try=%ld/%ld, next=%lds", arg, r.relay, source, r.text, t, tries, delay);
		/* Only this child sleeps: the daemon goes on with the others. */
		(void)nanosleep(&(struct timespec){ .tv_sec = delay }, NULL);
		delay = delay > 3600 ? delay : delay * 2;
	}
	free(cmd);
	OPENSSL_cleanse(secret, strlen(secret));
	free(secret);
}

/* peer_srv_fork - one child for the pass of arg to peer i */
static void
peer_srv_fork(struct peer_srv *ps, size_t i, const char *arg, const char *source)
{
	const struct hostport *hp = &ps->cfg->peers.v[i];
	sigset_t none;
	pid_t pid;

	if (ps->children >= PEER_CHILDREN_MAX) {
		log_warn("peer: domain=%s, peer=%s:%s, source=%s, result=not passed (%d "
		    "passes under way already)", arg, hp->host, hp->port, source,
		    PEER_CHILDREN_MAX);
		return;
	}
	if ((pid = fork()) < 0) {
		log_warn("peer: domain=%s, peer=%s:%s, source=%s, result=not passed "
		    "(fork: %s)", arg, hp->host, hp->port, source, strerror(errno));
		return;
	}
	if (pid > 0) {
		ps->children++;
		return;
	}
	/*
	 * The child: dies with the daemon (the loop blocked the signals it
	 * reads through signalfd: unblock them), holds no listener.
	 */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	(void)close(ps->lfd);
	peer_pass_run(ps->cfg, i, arg, source);
	_exit(0);
}

/* peer_srv_record - one record from qmgr: a trigger to pass */
static void
peer_srv_record(struct peer_srv *ps, const struct ipc_rec *rec)
{
	struct proto_trigger t;
	char *arg;
	size_t i;

	/* The decoder checks that it names one domain, one group, or all. */
	if (proto_trigger_decode(rec, &t, "private/peer client") < 0 ||
	    t.source == PROTO_SOURCE_PEER) {
		log_warn("private/peer: drop a malformed record (type=%s)",
		    ipc_rec_type(rec));
		return;
	}
	arg = t.all ? xstrdup(PROTO_PEER_ETRN_ALL) : t.group != NULL ? xasprintf("#%s", t.group) :
	    xasprintf("%s%s", t.subdomains ? "@" : "", t.domain);
	for (i = 0; i < ps->cfg->peers.n; i++)
		peer_srv_fork(ps, i, arg, proto_source_name(t.source));
	free(arg);
}

/* peer_srv_read - a connection from qmgr: its one record, then close */
static void
peer_srv_read(int fd, unsigned events, void *ctx)
{
	struct peer_srv *ps = ctx;
	struct ipc_rec *rec = NULL;
	int n;

	while ((n = ipc_recv(fd, &rec)) == 1) {
		peer_srv_record(ps, rec);
		ipc_rec_free(&rec);
	}
	if (n < 0 && errno == EAGAIN)
		return;
	if (n < 0)
		log_warn("private/peer: drop a connection: %s", strerror(errno));
	ev_io_del(ps->loop, fd);
	(void)close(fd);
}

/* peer_srv_accept - qmgr connects once per trigger */
static void
peer_srv_accept(int lfd, unsigned events, void *ctx)
{
	struct peer_srv *ps = ctx;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (ev_io_add(ps->loop, fd, EV_READ, peer_srv_read, ps) < 0) {
			log_warn("private/peer: watch a connection: %s", strerror(errno));
			(void)close(fd);
		}
	}
}

/* peer_srv_reap - SIGCHLD: count the passes that are over */
static void
peer_srv_reap(int signo, void *ctx)
{
	struct peer_srv *ps = ctx;

	while (waitpid(-1, NULL, WNOHANG) > 0)
		if (ps->children > 0)
			ps->children--;
}

struct peer_srv *
peer_srv_new(struct ev_loop *loop, struct config *cfg)
{
	struct peer_srv *ps = xcalloc(1, sizeof(*ps));
	char *path = xasprintf("%s/%s", cfg->queue_directory, PROTO_PEER_PRIVATE);

	ps->loop = loop;
	ps->cfg = cfg;
	if ((ps->lfd = ipc_listen(path, 64)) < 0)
		log_fatal("listen on %s: %s", path, strerror(errno));
	free(path);
	if (ev_io_add(loop, ps->lfd, EV_READ, peer_srv_accept, ps) < 0 ||
	    ev_signal_add(loop, SIGCHLD, peer_srv_reap, ps) < 0)
		log_fatal("watch private/peer: %s", strerror(errno));
	if (cfg->peers.n == 0)
		log_warn("peers is empty: nothing to pass triggers to");
	return ps;
}

void
peer_srv_reload(struct config *cfg, void *ctx)
{
	struct peer_srv *ps = ctx;

	/* Children keep the copy they forked with. */
	config_free(&ps->cfg);
	ps->cfg = cfg;
}

void
peer_srv_free(struct peer_srv **psp)
{
	struct peer_srv *ps = *psp;

	if (ps == NULL)
		return;
	ev_io_del(ps->loop, ps->lfd);
	(void)close(ps->lfd);
	config_free(&ps->cfg);
	free(ps);
	*psp = NULL;
}
