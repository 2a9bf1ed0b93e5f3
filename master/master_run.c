/*
 * master_run - configuration, queue lock, listeners and signals of master
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "util/events.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/daemon_server.h"
#include "mail/queue.h"
#include "master/master.h"

/* How often, and how far apart, master tries pid/master.pid's lock: a
 * CLI's probe holds it for microseconds, another master for good. */
#define MASTER_LOCK_TRIES	50
#define MASTER_LOCK_PAUSE_MS	10

static int
master_config_try(const char *dir, struct config **cfg_r, bool to_stderr)
{
	struct config_errors errs = { 0 };
	size_t i;
	int ret;

	ret = config_load(dir, cfg_r, &errs);
	for (i = 0; i < errs.nwarn; i++)
		log_warn("%s", errs.warn[i]);
	for (i = 0; i < errs.n; i++) {
		if (to_stderr)
			fprintf(stderr, "master: %s\n", errs.msg[i]);
		log_warn("%s", errs.msg[i]);
	}
	config_errors_clear(&errs);
	return ret;
}

void
master_config_load(struct master *m)
{
	if (master_config_try(m->config_dir, &m->cfg, true) < 0)
		log_fatal_code(EX_CONFIG, "load configuration from %s: errors above; "
		    "run \"sluice config check\"", m->config_dir);
	(void)log_set_syslog(m->cfg->syslog_name, m->cfg->syslog_facility);
	if (!m->foreground && m->cfg->log_file[0] != '\0' &&
	    log_set_dest(LOG_DEST_FILE, m->cfg->log_file) < 0)
		log_fatal_code(EX_CANTCREAT, "open log_file %s: %s", m->cfg->log_file,
		    strerror(errno));
	if (m->foreground)
		log_set_dest(LOG_DEST_STDERR, NULL);
	else if (m->cfg->log_file[0] == '\0')
		log_set_dest(LOG_DEST_SYSLOG, NULL);
}

/* master_identity - as root, find mail_owner; as anyone else, stay as we are */
static void
master_identity(struct master *m)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		m->drop_privileges = false;
		m->uid = geteuid();
		m->gid = getegid();
		return;
	}
	pw = getpwnam(m->cfg->mail_owner);
	if (pw == NULL)
		log_fatal_code(EX_NOUSER, "find mail_owner \"%s\": no such user; create it "
		    "(adduser --system --group %s) or set mail_owner in %s/sluice.conf",
		    m->cfg->mail_owner, m->cfg->mail_owner, m->config_dir);
	if (pw->pw_uid == 0)
		log_fatal_code(EX_CONFIG, "mail_owner \"%s\" is root: use an unprivileged user",
		    m->cfg->mail_owner);
	m->drop_privileges = true;
	m->uid = pw->pw_uid;
	m->gid = pw->pw_gid;
}

/*
 * master_log_owner - as root, hand log_file to mail_owner: master created
 * it, but every child appends to it after giving up root.
 */
static void
master_log_owner(const struct master *m)
{
	if (!m->drop_privileges || m->cfg->log_file[0] == '\0')
		return;
	if (chown(m->cfg->log_file, m->uid, m->gid) < 0)
		log_warn("chown log_file %s to %s: %s; the other programs cannot log there",
		    m->cfg->log_file, m->cfg->mail_owner, strerror(errno));
}

/* master_chown_tree - give the queue directories to mail_owner (root only) */
static void
master_chown_queue(struct master *m)
{
	static const char *const dirs[] = { "", "incoming", "msg", "corrupt", "index",
		"private", "public", "pid", "hold" };
	size_t i;

	if (!m->drop_privileges)
		return;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *path = xasprintf("%s/%s", m->cfg->queue_directory, dirs[i]);

		if (chown(path, m->uid, m->gid) < 0)
			log_fatal("chown %s to %s: %s", path, m->cfg->mail_owner, strerror(errno));
		free(path);
	}
	for (i = 0; i < 256; i++) {
		char *path = xasprintf("%s/msg/%02X", m->cfg->queue_directory, (unsigned)i);

		if (chown(path, m->uid, m->gid) < 0 && errno != ENOENT)
			log_fatal("chown %s to %s: %s", path, m->cfg->mail_owner, strerror(errno));
		free(path);
	}
}

/*
 * master_lock - take pid/master.pid. flock() ties the lock to this
 * process's open file: it goes away by itself when master dies, even by
 * kill -9, so a stale pid file can never keep sluice from starting.
 */
static void
master_lock(struct master *m)
{
	char *path = xasprintf("%s/pid/master.pid", m->cfg->queue_directory);
	struct timespec pause = { 0, MASTER_LOCK_PAUSE_MS * 1000000L };
	char buf[32];
	int fd, locked, tries = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		log_fatal_code(EX_CANTCREAT, "open %s: %s", path, strerror(errno));
	/*
	 * The CLI probes the lock with a shared one it drops at once
	 * (cli_lock_held): only a lock that stays is another master.
	 */
	while ((locked = flock(fd, LOCK_EX | LOCK_NB)) < 0 && errno == EWOULDBLOCK &&
	    ++tries < MASTER_LOCK_TRIES)
		nanosleep(&pause, NULL);
	if (locked < 0) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		log_fatal_code(EX_UNAVAILABLE, "the sluice master is already running for %s "
		    "(pid %s, lock %s); stop it first with \"sluice stop\"",
		    m->cfg->queue_directory, buf[0] ? buf : "unknown", path);
	}
	snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, strlen(buf), 0) != (ssize_t)strlen(buf))
		log_fatal("write %s: %s", path, strerror(errno));
	m->lock_fd = fd;
	free(path);
}

static void
master_daemonize(void)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		log_fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		log_fatal("setsid: %s", strerror(errno));
	if (chdir("/") < 0)
		log_fatal("chdir /: %s", strerror(errno));
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/* master_bind - one listening TCP socket for host:port; fd or fatal */
static int
master_bind(const struct hostport *hp)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICHOST };
	struct addrinfo *res;
	int fd, on = 1, err;

	err = getaddrinfo(hp->host[0] != '\0' ? hp->host : NULL, hp->port, &hints, &res);
	if (err != 0) {
		/* Not numeric: allow a name, but only one that resolves now. */
		hints.ai_flags = AI_PASSIVE;
		err = getaddrinfo(hp->host[0] != '\0' ? hp->host : NULL, hp->port, &hints, &res);
	}
	if (err != 0)
		log_fatal_code(EX_CONFIG, "listen on [%s]:%s: %s", hp->host, hp->port,
		    gai_strerror(err));
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0)
		log_fatal("socket for [%s]:%s: %s", hp->host, hp->port, strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (res->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0)
		log_fatal_code(EX_UNAVAILABLE, "bind [%s]:%s: %s%s", hp->host, hp->port,
		    strerror(errno), errno == EACCES ? " (ports below 1024 need root)" :
		    errno == EADDRINUSE ? " (another server listens there)" : "");
	if (listen(fd, 511) < 0)
		log_fatal("listen [%s]:%s: %s", hp->host, hp->port, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

/* master_listeners_open - bind every listener of daemon_listen_params */
static void
master_listeners_open(struct master *m)
{
	char addr[600];
	size_t i, j;

	for (i = 0; i < DAEMON_NLISTEN_PARAMS; i++) {
		const struct daemon_listen_param *p = &daemon_listen_params[i];
		const struct hostport_list *l = daemon_listen_list(m->cfg, p);

		for (j = 0; j < l->n; j++) {
			struct master_listener *ml;

			m->listeners = xreallocarray(m->listeners, m->nlisteners + 1,
			    sizeof(*m->listeners));
			ml = &m->listeners[m->nlisteners++];
			ml->service = xstrdup(p->service);
			daemon_hostport_text(&l->v[j], "", addr, sizeof(addr));
			ml->addr = xstrdup(addr);
			ml->fd = master_bind(&l->v[j]);
			log_info("listen on %s for %s", ml->addr, ml->service);
		}
	}
}

/* master_listeners_same - does the new config listen exactly where we do? */
static bool
master_listeners_same(const struct master *m, const struct config *cfg)
{
	char addr[600];
	size_t i, j, n = 0;

	for (i = 0; i < DAEMON_NLISTEN_PARAMS; i++) {
		const struct daemon_listen_param *p = &daemon_listen_params[i];
		const struct hostport_list *l = daemon_listen_list(cfg, p);

		for (j = 0; j < l->n; j++, n++) {
			const struct master_listener *ml;

			if (n >= m->nlisteners)
				return false;
			ml = &m->listeners[n];
			daemon_hostport_text(&l->v[j], "", addr, sizeof(addr));
			if (strcmp(ml->service, p->service) != 0 ||
			    strcmp(ml->addr, addr) != 0)
				return false;
		}
	}
	return n == m->nlisteners;
}

void
master_start(struct master *m)
{
	sigset_t set;
	int purged;

	/*
	 * Hold the signals master_run() watches from here on: one that
	 * arrives while the children are being started (systemd's reload,
	 * logrotate's SIGUSR1) waits for the loop instead of killing master
	 * by its default action. master_child_exec() sets a child's mask.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		log_fatal("block signals: %s", strerror(errno));
	master_identity(m);
	master_log_owner(m);
	if (queue_init_dirs(m->cfg->queue_directory) < 0)
		log_fatal_code(EX_CANTCREAT, "create queue directory %s: %s; check "
		    "queue_directory in %s/sluice.conf", m->cfg->queue_directory,
		    strerror(errno), m->config_dir);
	master_chown_queue(m);
	master_check_reach(m);
	if (!m->foreground && !m->no_detach)
		master_daemonize();
	master_lock(m);
	/*
	 * Only master purges incoming/: it runs before any smtpd, so what is
	 * there now was left by a crash and never got a 250. A restarted
	 * qmgr must not purge, or it would pull files from under a live smtpd.
	 */
	purged = queue_purge_incoming(m->cfg->queue_directory);
	if (purged > 0)
		log_info("removed %d unfinished file%s from %s/incoming", purged,
		    purged == 1 ? "" : "s", m->cfg->queue_directory);
	master_listeners_open(m);
	m->loop = ev_loop_new();
	log_info("daemon started -- version %s, configuration %s", PACKAGE_VERSION,
	    m->config_dir);
	master_services_start(m);
}

static void
master_on_sigchld(int signo, void *ctx)
{
	master_services_reap(ctx);
}

static void
master_on_sighup(int signo, void *ctx)
{
	struct master *m = ctx;
	struct config *cfg;

	log_info("reload -- version %s, configuration %s", PACKAGE_VERSION, m->config_dir);
	master_notify_reloading(m);
	if (master_config_try(m->config_dir, &cfg, false) < 0) {
		log_warn("reload configuration from %s: errors above; keeping the running "
		    "configuration", m->config_dir);
		master_notify_reloaded(m, "reload refused: errors in the configuration (see the "
		    "log), the previous one still runs");
		return;
	}
	/*
	 * XXX Listening sockets are bound once, at start: a changed
	 * *_listen takes effect at the next "sluice stop; sluice start".
	 * Rebinding here would need a new generation of smtpd processes
	 * beside the old ones; until then we say so instead of half-doing it.
	 */
	if (!master_listeners_same(m, cfg))
		log_warn("reload: listener addresses changed; they take effect after a restart");
	config_free(&m->cfg);
	m->cfg = cfg;
	(void)log_set_syslog(cfg->syslog_name, cfg->syslog_facility);
	log_reopen();
	master_log_owner(m);
	master_services_signal(m, SIGHUP);
	master_notify_reloaded(m, NULL);
}

/*
 * master_on_sigusr1 - logrotate moved log_file: reopen ours, give the
 * new file to mail_owner, then have every child reopen its own.
 */
static void
master_on_sigusr1(int signo, void *ctx)
{
	struct master *m = ctx;

	log_reopen();
	master_log_owner(m);
	log_info("reopen log_file on signal %d", signo);
	master_services_signal(m, SIGUSR1);
}

static void
master_on_sigterm(int signo, void *ctx)
{
	struct master *m = ctx;

	log_info("terminating on signal %d", signo);
	m->stopping = true;
	ev_stop(m->loop);
}

int
master_run(struct master *m)
{
	if (ev_signal_add(m->loop, SIGCHLD, master_on_sigchld, m) < 0 ||
	    ev_signal_add(m->loop, SIGHUP, master_on_sighup, m) < 0 ||
	    ev_signal_add(m->loop, SIGUSR1, master_on_sigusr1, m) < 0 ||
	    ev_signal_add(m->loop, SIGTERM, master_on_sigterm, m) < 0 ||
	    ev_signal_add(m->loop, SIGINT, master_on_sigterm, m) < 0)
		log_fatal("set up signal handling: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	/* Children that died before the loop started are reaped now. */
	master_services_reap(m);
	if (!m->stopping)
		master_notify_start(m);
	if (!m->stopping && ev_run(m->loop) < 0)
		log_fatal("event loop: %s", strerror(errno));
	master_notify_stopping(m);
	master_services_stop(m);
	log_info("stopped");
	return m->exit_code;
}
