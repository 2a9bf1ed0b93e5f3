/*
 * master_service - the service table: start, supervise and stop children
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "util/events.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/daemon_server.h"
#include "master/master.h"

/* A child that lived this long was healthy: its back-off starts over. */
#define MASTER_HEALTHY_MS 10000
/*
 * The exit status of a child that could not execute its program (as a
 * shell's 126): never transient, so master stops instead of restarting.
 */
#define MASTER_EX_EXEC 126

static long
master_one(const struct config *cfg)
{
	return 1;
}

static long
master_smtpd_count(const struct config *cfg)
{
	if (cfg->smtp_listen.n + cfg->submission_listen.n == 0)
		return 0;
	return cfg->smtpd_process_limit > 0 ? cfg->smtpd_process_limit : 1;
}

static long
master_deliver_count(const struct config *cfg)
{
	return cfg->deliver_process_limit;
}

static long
master_etrn_count(const struct config *cfg)
{
	return cfg->odmr_listen.n + cfg->odmrs_listen.n > 0 ? 1 : 0;
}

static long
master_fingerd_count(const struct config *cfg)
{
	return cfg->finger_listen.n > 0 ? 1 : 0;
}

static long
master_web_count(const struct config *cfg)
{
	return cfg->web_listen.n > 0 ? 1 : 0;
}

static long
master_pop3_count(const struct config *cfg)
{
	return cfg->pop3_listen.n + cfg->pop3s_listen.n > 0 ? 1 : 0;
}

static long
master_peer_count(const struct config *cfg)
{
	return cfg->peers.n > 0 ? 1 : 0;
}

/*
 * The process graph, written out: qmgr first (it recovers the index
 * before anything else can need it), then the listeners' servers.
 */
static struct master_service master_services[] = {
	{ .name = "qmgr", .listen_services = "", .count = master_one },
	{ .name = "smtpd", .listen_services = DAEMON_SVC_SMTP ","
	    DAEMON_SVC_SUBMISSION, .count = master_smtpd_count },
	{ .name = "deliver", .listen_services = "", .count = master_deliver_count },
	{ .name = "etrn", .listen_services = DAEMON_SVC_ODMR "," DAEMON_SVC_ODMRS,
	    .count = master_etrn_count },
	{ .name = "fingerd", .listen_services = DAEMON_SVC_FINGER, .count = master_fingerd_count },
	{ .name = "prober", .listen_services = "", .count = master_one },
	{ .name = "web", .listen_services = DAEMON_SVC_WEB, .count = master_web_count },
	{ .name = "peer", .listen_services = "", .count = master_peer_count },
	{ .name = "pop3", .listen_services = DAEMON_SVC_POP3 "," DAEMON_SVC_POP3S,
	    .count = master_pop3_count },
};
#define MASTER_NSERVICES (sizeof(master_services) / sizeof(master_services[0]))

static bool
master_service_wants(const struct master_service *svc, const char *service)
{
	size_t len = strlen(service);
	const char *p = svc->listen_services;

	while ((p = strstr(p, service)) != NULL) {
		if ((p == svc->listen_services || p[-1] == ',') &&
		    (p[len] == '\0' || p[len] == ','))
			return true;
		p += len;
	}
	return false;
}

/*
 * master_confine - in the child, before exec: become mail_owner with no
 * capabilities and no way to gain privileges again. Each step is checked:
 * a child that could not drop root must not run at all.
 */
static void
master_confine(const struct master *m)
{
	cap_t caps;

	if (m->drop_privileges) {
		if (setgroups(1, &m->gid) < 0 || setresgid(m->gid, m->gid, m->gid) < 0 ||
		    setresuid(m->uid, m->uid, m->uid) < 0)
			log_fatal("drop privileges to %s: %s", m->cfg->mail_owner, strerror(errno));
		if (setuid(0) == 0)
			log_panic("drop privileges: setuid(0) still works");
		caps = cap_init();
		if (caps == NULL || cap_set_proc(caps) < 0)
			log_fatal("clear capabilities: %s", strerror(errno));
		cap_free(caps);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		log_fatal("set no_new_privs: %s", strerror(errno));
}

static void
master_child_exec(struct master *m, struct master_service *svc)
{
	char *path = xasprintf("%s/%s", m->cfg->daemon_directory, svc->name);
	char *names = xstrdup(""), *count;
	char *argv[8];
	sigset_t held;
	int next = 3, argc = 0;
	size_t i;

	/*
	 * Hand over the listeners this service serves as fds 3, 4, ...
	 * First move them all out of the way (fds >= 100), so that placing
	 * one can never overwrite another still waiting to be placed. As
	 * many as are configured: there is no limit to drop any past.
	 */
	int *high = xcalloc(m->nlisteners + 1, sizeof(*high));
	size_t nhigh = 0;

	for (i = 0; i < m->nlisteners; i++) {
		if (!master_service_wants(svc, m->listeners[i].service))
			continue;
		high[nhigh] = fcntl(m->listeners[i].fd, F_DUPFD_CLOEXEC, 100);
		if (high[nhigh] < 0)
			log_fatal("pass listener %s to %s: %s", m->listeners[i].addr,
			    svc->name, strerror(errno));
		nhigh++;
		char *tmp = xasprintf("%s%s%s", names, names[0] ? "," : "",
		    m->listeners[i].service);
		free(names);
		names = tmp;
	}
	for (i = 0; i < nhigh; i++, next++)
		if (dup2(high[i], next) < 0)
			log_fatal("pass listener to %s: %s", svc->name, strerror(errno));
	free(high);
	count = xasprintf("%d", next - 3);
	setenv("SLUICE_LISTEN_FDS", count, 1);
	setenv("SLUICE_LISTEN_NAMES", names, 1);
	/*
	 * SIGHUP and SIGUSR1 stay blocked across exec, pending if they come
	 * early: the daemon's loop takes them over (daemon_run), so a reload
	 * or a log rotation that reaches a child still starting is served
	 * late instead of killing it. The rest starts unblocked.
	 */
	sigemptyset(&held);
	sigaddset(&held, SIGHUP);
	sigaddset(&held, SIGUSR1);
	sigprocmask(SIG_SETMASK, &held, NULL);
	/* Only master speaks to the service manager. */
	unsetenv("NOTIFY_SOCKET");
	signal(SIGPIPE, SIG_DFL);
	/* A child must not outlive master: nothing would supervise it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (getppid() == 1)
		_exit(0);
	master_confine(m);
	argv[argc++] = (char *)svc->name;
	argv[argc++] = (char *)"-c";
	argv[argc++] = (char *)m->config_dir;
	if (m->foreground)
		argv[argc++] = (char *)"-f";
	if (m->verbose)
		argv[argc++] = (char *)"-v";
	argv[argc] = NULL;
	execv(path, argv);
	log_warn("execute %s as uid %ld: %s; check daemon_directory in %s/sluice.conf", path,
	    (long)getuid(), strerror(errno), m->config_dir);
	_exit(MASTER_EX_EXEC);
}

static void
master_child_spawn(struct master_child *c)
{
	struct master *m = c->master;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		log_warn("fork for %s: %s", c->svc->name, strerror(errno));
		return;
	}
	if (pid == 0) {
		master_child_exec(m, c->svc);
		_exit(75);
	}
	c->pid = pid;
	c->started = ev_now();
	log_debug("started %s pid %ld", c->svc->name, (long)pid);
}

static void
master_child_restart(void *ctx)
{
	struct master_child *c = ctx;

	c->restart = NULL;
	if (!c->master->stopping)
		master_child_spawn(c);
}

/* One thing the children's user must be able to do. */
struct master_reach {
	char *path;
	int mode;		/* for access(2) */
	const char *what;
};

/* master_reach_try - the index of the first check uid fails, its errno in *err_r; -1 none */
static long
master_reach_try(const struct master_reach *r, size_t n, int *err_r)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (access(r[i].path, r[i].mode) < 0) {
			*err_r = errno;
			return (long)i;
		}
	}
	return -1;
}

/*
 * master_reach_as - master_reach_try as the children's user: in a child
 * that becomes it (access(2) checks the real uid, but also every
 * directory on the way, as exec will), the answer back through a pipe.
 */
static long
master_reach_as(const struct master *m, const struct master_reach *r, size_t n, int *err_r)
{
	int pfd[2], status, msg[2] = { -1, 0 };
	pid_t pid;

	if (!m->drop_privileges)
		return master_reach_try(r, n, err_r);
	if (pipe2(pfd, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		log_fatal("check what the children can reach: %s", strerror(errno));
	if (pid == 0) {
		(void)close(pfd[0]);
		if (setgroups(1, &m->gid) < 0 || setresgid(m->gid, m->gid, m->gid) < 0 ||
		    setresuid(m->uid, m->uid, m->uid) < 0)
			_exit(1);
		msg[0] = (int)master_reach_try(r, n, &msg[1]);
		_exit(write(pfd[1], msg, sizeof(msg)) == sizeof(msg) ? 0 : 1);
	}
	(void)close(pfd[1]);
	if (read(pfd[0], msg, sizeof(msg)) != sizeof(msg))
		msg[0] = -2;
	(void)close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		continue;
	if (msg[0] == -2)
		log_fatal("check what %s can reach: the checking process failed",
		    m->cfg->mail_owner);
	*err_r = msg[1];
	return msg[0];
}

void
master_check_reach(struct master *m)
{
	struct master_reach r[MASTER_NSERVICES + 2];
	size_t n = 0, i;
	const char *verb;
	long bad;
	int err = 0;
	char who[128];

	for (i = 0; i < MASTER_NSERVICES; i++)
		if (master_services[i].count(m->cfg) > 0)
			r[n++] = (struct master_reach){ .path = xasprintf("%s/%s",
			    m->cfg->daemon_directory, master_services[i].name), .mode = X_OK,
			    .what = "daemon" };
	r[n++] = (struct master_reach){ .path = xasprintf("%s/sluice.conf", m->config_dir),
	    .mode = R_OK, .what = "configuration" };
	r[n++] = (struct master_reach){ .path = xstrdup(m->cfg->queue_directory),
	    .mode = W_OK | X_OK, .what = "queue directory" };
	bad = master_reach_as(m, r, n, &err);
	if (bad >= 0) {
		if (m->drop_privileges)
			snprintf(who, sizeof(who), "mail_owner %s (uid %ld)", m->cfg->mail_owner,
			    (long)m->uid);
		else
			snprintf(who, sizeof(who), "uid %ld", (long)m->uid);
		verb = r[bad].mode == X_OK ? "execute" : r[bad].mode == R_OK ? "read" : "write";
		/* Before daemonizing: "sluice start" shows it, not only the log. */
		if (!m->foreground)
			fprintf(stderr, "master: fatal: %s %s %s as %s: %s\n", verb, r[bad].what,
			    r[bad].path, who, strerror(err));
		log_fatal_code(EX_NOPERM, "%s %s %s as %s: %s; every child would fail and nobody "
		    "would answer on the listeners. Fix: put sluice where that user can reach it "
		    "(clone under /srv or /tmp, not a private home such as /root), or give each "
		    "directory on the path o+x (namei -l %s shows them)", verb, r[bad].what,
		    r[bad].path, who, strerror(err), r[bad].path);
	}
	for (i = 0; i < n; i++)
		free(r[i].path);
}

void
master_services_start(struct master *m)
{
	size_t i, j;

	for (i = 0; i < MASTER_NSERVICES; i++) {
		struct master_service *svc = &master_services[i];

		svc->nchild = (size_t)svc->count(m->cfg);
		svc->child = xcalloc(svc->nchild ? svc->nchild : 1, sizeof(*svc->child));
		for (j = 0; j < svc->nchild; j++) {
			svc->child[j].svc = svc;
			svc->child[j].master = m;
			master_child_spawn(&svc->child[j]);
		}
	}
}

void
master_services_signal(struct master *m, int sig)
{
	size_t i, j;

	for (i = 0; i < MASTER_NSERVICES; i++)
		for (j = 0; j < master_services[i].nchild; j++)
			if (master_services[i].child[j].pid > 0)
				kill(master_services[i].child[j].pid, sig);
}

static struct master_child *
master_child_find(pid_t pid)
{
	size_t i, j;

	for (i = 0; i < MASTER_NSERVICES; i++)
		for (j = 0; j < master_services[i].nchild; j++)
			if (master_services[i].child[j].pid == pid)
				return &master_services[i].child[j];
	return NULL;
}

void
master_services_reap(struct master *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct master_child *c = master_child_find(pid);
		uint64_t lived;
		char why[64];

		if (c == NULL)
			continue;
		c->pid = 0;
		if (WIFSIGNALED(status))
			snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(status));
		else
			snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(status));
		if (m->stopping)
			continue;
		if (WIFEXITED(status) && WEXITSTATUS(status) == MASTER_EX_EXEC) {
			log_warn("process %s/%s pid %ld could not be executed (see above); stopping: "
			    "the listeners would stay open with nobody answering",
			    m->cfg->daemon_directory, c->svc->name, (long)pid);
			m->exit_code = EX_UNAVAILABLE;
			m->stopping = true;
			ev_stop(m->loop);
			continue;
		}
		lived = ev_now() - c->started;
		/*
		 * Back-off: a child that dies young waits twice as long as the
		 * last time before it is tried again, up to master_restart_max,
		 * so a broken config does not turn master into a fork loop.
		 */
		if (lived >= MASTER_HEALTHY_MS || c->delay == 0)
			c->delay = (uint64_t)m->cfg->master_restart_delay * 1000;
		else
			c->delay *= 2;
		if (c->delay > (uint64_t)m->cfg->master_restart_max * 1000)
			c->delay = (uint64_t)m->cfg->master_restart_max * 1000;
		log_warn("process %s/%s pid %ld %s; restarting in %llu ms",
		    m->cfg->daemon_directory, c->svc->name, (long)pid, why,
		    (unsigned long long)c->delay);
		c->restart = ev_timer_add(m->loop, c->delay, master_child_restart, c);
	}
}

void
master_services_stop(struct master *m)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	size_t i, j;
	int tries;

	master_services_signal(m, SIGTERM);
	for (tries = 0; tries < 100; tries++) {
		bool any = false;
		int status;
		pid_t pid;

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			struct master_child *c = master_child_find(pid);

			if (c == NULL)
				continue;
			c->pid = 0;
			/* A child that crashes on the way out (a core at every stop) is a bug to see. */
			if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
				log_warn("process %s/%s pid %ld killed by signal %d while stopping",
				    m->cfg->daemon_directory, c->svc->name, (long)pid,
				    WTERMSIG(status));
			else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
				log_warn("process %s/%s pid %ld exit status %d while stopping",
				    m->cfg->daemon_directory, c->svc->name, (long)pid,
				    WEXITSTATUS(status));
		}
		for (i = 0; i < MASTER_NSERVICES; i++)
			for (j = 0; j < master_services[i].nchild; j++)
				any |= master_services[i].child[j].pid > 0;
		if (!any)
			return;
		nanosleep(&pause, NULL);
	}
	log_warn("children did not stop within 5 seconds; killing them");
	master_services_signal(m, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
}
