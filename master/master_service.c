/* master_service - the service table: start, supervise and stop children */
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
#include <time.h>
#include <unistd.h>

#include "util/events.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/config.h"
#include "master/master.h"

/* A child that lived this long was healthy: its back-off starts over. */
#define MASTER_HEALTHY_MS 10000

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

/*
 * The process graph, written out: qmgr first (it recovers the index
 * before anything else can need it), then the listeners' servers.
 */
static struct master_service master_services[] = {
	{ .name = "qmgr", .listen_services = "", .count = master_one },
	{ .name = "smtpd", .listen_services = "smtp,submission", .count = master_smtpd_count },
	{ .name = "deliver", .listen_services = "", .count = master_deliver_count },
	{ .name = "etrn", .listen_services = "odmr,odmrs", .count = master_etrn_count },
	{ .name = "fingerd", .listen_services = "finger", .count = master_fingerd_count },
	{ .name = "prober", .listen_services = "", .count = master_one },
	{ .name = "web", .listen_services = "web", .count = master_web_count },
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
	sigset_t none;
	int next = 3, argc = 0;
	size_t i;

	/*
	 * Hand over the listeners this service serves as fds 3, 4, ...
	 * First move them all out of the way (fds >= 100), so that placing
	 * one can never overwrite another still waiting to be placed.
	 */
	int high[64];
	size_t nhigh = 0;

	for (i = 0; i < m->nlisteners && nhigh < 64; i++) {
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
	count = xasprintf("%d", next - 3);
	setenv("SLUICE_LISTEN_FDS", count, 1);
	setenv("SLUICE_LISTEN_NAMES", names, 1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
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
	log_fatal("execute %s: %s; check daemon_directory in %s/sluice.conf", path,
	    strerror(errno), m->config_dir);
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
