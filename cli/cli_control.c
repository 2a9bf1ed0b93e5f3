/*
 * cli_control - sluice start, stop, status and reload: the master process
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon_server.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/qctl.h"
/* lib/util */
#include "util/ipc.h"
#include "util/tls.h"
#include "util/xmalloc.h"
/* this program */
#include "cli/cli.h"

/* How long start and stop wait for master, and how often they look. */
#define CLI_START_WAIT_MS	10000
#define CLI_STOP_WAIT_MS	30000
#define CLI_POLL_MS		100
/* How long status waits for a listener to accept a connection. */
#define CLI_PROBE_MS		1000

/* The exit code of start/stop/reload/status when master is not in the
 * state the command needs, as postfix(1) uses it. */
#define CLI_EX_STATE		1

/*
 * cli_lock_held - is the file open as fd flock()ed by some process?
 * 1 yes, 0 no, -1 error. A lock listed in /proc/locks is the answer
 * without touching it. A lock not listed is not proof: the kernel lists
 * the locks anew for each piece of the file read, and while other locks
 * come and go a held one can fall between two pieces (0.4% of reads with
 * 400 other locks changing; the CLI then took a running master for
 * stopped: t/79-config-cli saw it once). So "not listed" is settled by a probe,
 * a shared lock tried and dropped at once; a master taking its lock at
 * that moment tries again before it believes another master runs
 * (master_lock). Without /proc the probe is the only way.
 */
static int
cli_lock_held(int fd)
{
	unsigned long long ino;
	char line[256], kind[16];
	struct stat st;
	bool held = false;
	FILE *fp;

	if (fstat(fd, &st) < 0)
		return -1;
	if ((fp = fopen("/proc/locks", "re")) != NULL) {
		/* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters have "->". */
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (sscanf(line, "%*[^:]: %15s %*s %*s %*d %*x:%*x:%llu", kind,
			    &ino) == 2 && strcmp(kind, "FLOCK") == 0 &&
			    ino == (unsigned long long)st.st_ino)
				held = true;
		}
		fclose(fp);
		if (held)
			return 1;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		(void)flock(fd, LOCK_UN);
		return 0;
	}
	return errno == EWOULDBLOCK ? 1 : -1;
}

/*
 * cli_master - is a master running for this queue? A pid file alone
 * proves nothing (it survives a crash); the flock() master keeps on it
 * does. 1 running (*pid_r set), 0 not, -1 error (errno).
 */
int
cli_master(const struct config *cfg, pid_t *pid_r)
{
	char *path = xasprintf("%s/pid/master.pid", cfg->queue_directory);
	char buf[32], *end;
	ssize_t n;
	long pid;
	int fd, held, saved;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if ((held = cli_lock_held(fd)) != 1) {
		saved = errno;
		close(fd);
		errno = saved;
		return held;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	/* Master may hold the lock a moment before it writes its pid. */
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') || pid < 2) {
		errno = EAGAIN;
		return -1;
	}
	*pid_r = (pid_t)pid;
	return 1;
}

/* cli_sleep_ms - wait a little between looks at master */
static void
cli_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		continue;
}

/*
 * cli_running - like cli_master(), printing why when it fails: 0 running
 * (*pid_r set), CLI_EX_STATE not running, another EX_* code on error.
 */
static int
cli_running(struct cli *cli, const char *what, pid_t *pid_r)
{
	int ret;

	if ((ret = cli_config_need(cli)) != 0)
		return ret;
	ret = cli_master(cli->cfg, pid_r);
	if (ret < 0) {
		cli_err("%s: read %s/pid/master.pid: %s", what,
		    cli->cfg->queue_directory,
		    errno == EAGAIN ? "no valid pid in it" : errno == EACCES ?
		    "permission denied (run as root, mail_owner or in operator_group)" :
		    strerror(errno));
		return errno == EACCES ? EX_NOPERM : EX_UNAVAILABLE;
	}
	return ret == 1 ? 0 : CLI_EX_STATE;
}

/* cli_start_wait - wait for child master to daemonize and lock its pid file */
static int
cli_start_wait(struct cli *cli, pid_t child)
{
	bool reaped = false;
	pid_t pid = 0;
	int waited, status;

	for (waited = 0; waited <= CLI_START_WAIT_MS; waited += CLI_POLL_MS) {
		if (cli_master(cli->cfg, &pid) == 1) {
			fprintf(cli->out, "sluice: started, master pid %ld\n", (long)pid);
			return EX_OK;
		}
		/* The foreground master exits 0 once its daemon copy is on its way. */
		if (!reaped && waitpid(child, &status, WNOHANG) == child) {
			reaped = true;
			if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
				cli_err("start: master exited with status %d; see the log",
				    WEXITSTATUS(status));
				return EX_UNAVAILABLE;
			}
			if (WIFSIGNALED(status)) {
				cli_err("start: master killed by signal %d; see the log",
				    WTERMSIG(status));
				return EX_UNAVAILABLE;
			}
		}
		cli_sleep_ms(CLI_POLL_MS);
	}
	cli_err("start: master did not lock %s/pid/master.pid within %d s; see the log",
	    cli->cfg->queue_directory, CLI_START_WAIT_MS / 1000);
	return EX_TEMPFAIL;
}

/* cli_cmd_start - start [-f]: check the config, then run master */
int
cli_cmd_start(struct cli *cli, int argc, char **argv)
{
	const char *margv[6];
	bool foreground = false;
	char *master, *dir;
	pid_t pid, child;
	int ret, i, n = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") != 0) {
			cli_err("start: unknown argument %s", argv[i]);
			return cli_usage(stderr, "start");
		}
		foreground = true;
	}
	/* Starting with a broken config would only fail later, in the log. */
	if ((ret = cli_config_load(cli, cli->verbose)) != 0)
		return ret;
	/* Secrets the daemons cannot read would fail every login, silently. */
	(void)cli_config_check_files(cli, false);
	if ((ret = cli_running(cli, "start", &pid)) == 0) {
		cli_err("start: already running, master pid %ld", (long)pid);
		return CLI_EX_STATE;
	}
	if (ret != CLI_EX_STATE)
		return ret;
	/*
	 * master changes to "/" when it detaches, and its children read the
	 * configuration again: a relative directory would not be found.
	 */
	if ((dir = realpath(cli->config_dir != NULL ? cli->config_dir :
	    config_default_dir(), NULL)) == NULL) {
		cli_err("start: configuration directory: %s", strerror(errno));
		return EX_CONFIG;
	}
	master = xasprintf("%s/master", cli->cfg->daemon_directory);
	if (access(master, X_OK) < 0) {
		cli_err("start: %s: %s (check daemon_directory)", master, strerror(errno));
		free(master);
		free(dir);
		return EX_UNAVAILABLE;
	}
	margv[n++] = master;
	margv[n++] = "-c";
	margv[n++] = dir;
	if (foreground)
		margv[n++] = "-f";
	if (cli->verbose)
		margv[n++] = "-v";
	margv[n] = NULL;
	fflush(NULL);
	if (foreground) {
		execv(master, (char *const *)margv);
		cli_err("start: exec %s: %s", master, strerror(errno));
		free(master);
		free(dir);
		return EX_OSERR;
	}
	if ((child = fork()) < 0) {
		cli_err("start: fork: %s", strerror(errno));
		free(master);
		free(dir);
		return EX_OSERR;
	}
	if (child == 0) {
		execv(master, (char *const *)margv);
		cli_err("start: exec %s: %s", master, strerror(errno));
		_exit(EX_OSERR);
	}
	free(master);
	free(dir);
	return cli_start_wait(cli, child);
}

/* cli_signal - send sig to a running master; 0 sent, else an EX_* code */
static int
cli_signal(struct cli *cli, const char *what, int sig, pid_t *pid_r)
{
	int ret;

	if ((ret = cli_running(cli, what, pid_r)) == CLI_EX_STATE)
		cli_err("%s: not running", what);
	if (ret != 0)
		return ret;
	if (kill(*pid_r, sig) < 0) {
		cli_err("%s: signal master pid %ld: %s", what, (long)*pid_r,
		    strerror(errno));
		return errno == EPERM ? EX_NOPERM : EX_UNAVAILABLE;
	}
	return 0;
}

/* cli_cmd_stop - stop: SIGTERM to master, then wait until it is gone */
int
cli_cmd_stop(struct cli *cli, int argc, char **argv)
{
	pid_t pid, still;
	int ret, waited;

	if (argc != 1)
		return cli_usage(stderr, "stop");
	if ((ret = cli_signal(cli, "stop", SIGTERM, &pid)) != 0)
		return ret;
	/* Master releases the lock only when every child has finished. */
	for (waited = 0; waited <= CLI_STOP_WAIT_MS; waited += CLI_POLL_MS) {
		if (cli_master(cli->cfg, &still) == 0) {
			fprintf(cli->out, "sluice: stopped\n");
			return EX_OK;
		}
		cli_sleep_ms(CLI_POLL_MS);
	}
	cli_err("stop: master pid %ld still running after %d s", (long)pid,
	    CLI_STOP_WAIT_MS / 1000);
	return EX_TEMPFAIL;
}

/*
 * cli_reload_web_tls - will web take its certificate at this reload? It
 * loads web_tls_cert_file and web_tls_key_file as web does; a pair that
 * does not load is not taken (web keeps the one it has and logs it), so
 * the operator hears it here too. (We read the files as ourselves; web
 * reads them as mail_owner, which "sluice config check" covers.)
 */
static void
cli_reload_web_tls(const struct config *cfg)
{
	char *err = NULL;
	SSL_CTX *ctx;

	if (cfg->web_listen.n == 0 || cfg->web_tls_cert_file[0] == '\0' ||
	    cfg->web_tls_key_file[0] == '\0')
		return;
	ctx = tls_server_ctx_new(cfg->web_tls_cert_file, cfg->web_tls_key_file,
	    &err);
	if (ctx == NULL) {
		cli_err("warning: reload: web keeps the TLS certificate it has: %s; "
		    "fix web_tls_cert_file or web_tls_key_file and reload again",
		    err);
		free(err);
		return;
	}
	tls_ctx_free(&ctx);
}

/* cli_cmd_reload - reload: check the config, then SIGHUP to master */
int
cli_cmd_reload(struct cli *cli, int argc, char **argv)
{
	pid_t pid;
	int ret;

	if (argc != 1)
		return cli_usage(stderr, "reload");
	/* A config master cannot load would leave it running on the old one. */
	if ((ret = cli_config_load(cli, true)) != 0) {
		cli_err("reload: configuration has errors; not reloading");
		return ret;
	}
	if ((ret = cli_signal(cli, "reload", SIGHUP, &pid)) != 0)
		return ret;
	fprintf(cli->out, "sluice: reloading, master pid %ld\n", (long)pid);
	cli_reload_web_tls(cli->cfg);
	return EX_OK;
}

/*
 * cli_probe - does something accept TCP connections at hp? Every address
 * ("" host) is probed on loopback. NULL when it does, else a static reason.
 */
static const char *
cli_probe(const struct hostport *hp)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	const char *why = "no address";
	struct pollfd pfd;
	socklen_t len;
	int fd, err, gai;

	gai = getaddrinfo(hp->host[0] != '\0' ? hp->host : NULL, hp->port, &hints, &res);
	if (gai != 0)
		return gai_strerror(gai);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			why = strerror(errno);
			continue;
		}
		err = 0;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			err = errno;
			if (err == EINPROGRESS) {
				pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
				len = sizeof(err);
				if (poll(&pfd, 1, CLI_PROBE_MS) != 1)
					err = ETIMEDOUT;
				else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
					err = errno;
			}
		}
		close(fd);
		if (err == 0) {
			freeaddrinfo(res);
			return NULL;
		}
		why = strerror(err);
	}
	freeaddrinfo(res);
	return why;
}

/* cli_status_rec - print qmgr's type=status reply as name=value pairs */
static int
cli_status_rec(const struct ipc_rec *rec, void *ctx)
{
	struct cli *cli = ctx;
	struct proto_reply end;
	size_t i;

	if (strcmp(ipc_rec_type(rec), PROTO_T_END) == 0 &&
	    proto_reply_decode(rec, PROTO_T_END, &end, "qmgr") == 0 &&
	    end.status != PROTO_STATUS_OK) {
		fputs("qmgr: ", cli->out);
		cli_put_text(cli->out, end.reason != NULL ? end.reason :
		    proto_status_name(end.status));
		putc('\n', cli->out);
	}
	if (strcmp(ipc_rec_type(rec), PROTO_T_STATUS) != 0)
		return 0;
	fputs("qmgr:", cli->out);
	for (i = 1; i < rec->n; i++) {
		fprintf(cli->out, " %s=", rec->f[i].name);
		cli_put_text(cli->out, rec->f[i].value);
	}
	putc('\n', cli->out);
	return 0;
}

/*
 * cli_status_broken - status when sluice.conf does not load: the errors
 * as warnings, then whether a master runs, found from queue_directory as
 * the file sets it (read as text) or its default. A running master keeps
 * the configuration it loaded last, and a broken file on disk must not
 * hide it. 0 running, CLI_EX_STATE not, EX_UNAVAILABLE when unknown.
 */
static int
cli_status_broken(struct cli *cli, const struct config_errors *errs)
{
	const char *dir = cli->config_dir != NULL ? cli->config_dir : config_default_dir();
	char *path = xasprintf("%s/sluice.conf", dir), *qdir = NULL;
	struct config guess = { 0 };
	pid_t pid;
	size_t i;
	int ret;

	for (i = 0; i < errs->n; i++)
		cli_err("warning: %s", errs->msg[i]);
	cli_err("warning: the configuration in %s does not load; sluice reload and "
	    "sluice start would fail. Fix it: see sluice config check", dir);
	if (cli_conf_find(path, "queue_directory", &qdir) == 0 || qdir == NULL)
		qdir = cli_config_default("queue_directory");
	free(path);
	if (qdir == NULL || strchr(qdir, '$') != NULL) {
		cli_err("status: cannot tell where the queue is: queue_directory = %s; "
		    "fix sluice.conf first", qdir != NULL ? qdir : "?");
		free(qdir);
		return EX_UNAVAILABLE;
	}
	guess.queue_directory = qdir;
	ret = cli_master(&guess, &pid);
	if (ret == 1)
		fprintf(cli->out, "sluice: running, master pid %ld, with the configuration "
		    "it loaded before sluice.conf broke\n", (long)pid);
	else if (ret == 0)
		fprintf(cli->out, "sluice: not running\n");
	else
		cli_err("status: read %s/pid/master.pid: %s", qdir, strerror(errno));
	free(qdir);
	return ret == 1 ? 0 : ret == 0 ? CLI_EX_STATE : EX_UNAVAILABLE;
}

/* cli_cmd_status - status: master, listeners, qmgr; exit 0 only when running */
int
cli_cmd_status(struct cli *cli, int argc, char **argv)
{
	const struct hostport_list *l;
	char addr[600];
	struct ipc_rec *req;
	const char *why;
	char *reason = NULL;
	pid_t pid;
	size_t i, k;
	int ret;

	if (argc != 1)
		return cli_usage(stderr, "status");
	if (cli->cfg == NULL) {
		struct config_errors errs = { 0 };

		ret = config_load(cli->config_dir, &cli->cfg, &errs);
		if (ret < 0)
			ret = cli_status_broken(cli, &errs);
		config_errors_clear(&errs);
		if (cli->cfg == NULL)
			return ret;
	}
	if ((ret = cli_running(cli, "status", &pid)) == CLI_EX_STATE)
		fprintf(cli->out, "sluice: not running\n");
	if (ret != 0)
		return ret;
	fprintf(cli->out, "sluice: running, master pid %ld\n", (long)pid);
	for (i = 0; i < DAEMON_NLISTEN_PARAMS; i++) {
		l = daemon_listen_list(cli->cfg, &daemon_listen_params[i]);
		for (k = 0; k < l->n; k++) {
			why = cli_probe(&l->v[k]);
			daemon_hostport_text(&l->v[k], "*", addr, sizeof(addr));
			fprintf(cli->out, "%s: %s %s%s\n", daemon_listen_params[i].param,
			    addr, why == NULL ? "listening" : "not answering: ",
			    why == NULL ? "" : why);
		}
	}
	req = ipc_rec_new(PROTO_T_STATUS);
	if (cli_request(cli, "status", req, cli_status_rec, cli, &reason) != 0) {
		fprintf(cli->out, "qmgr: not answering: %s\n",
		    reason != NULL ? reason : "see above");
		free(reason);
	}
	ipc_rec_free(&req);
	return EX_OK;
}
