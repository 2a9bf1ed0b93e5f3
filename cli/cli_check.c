/*
 * cli_check - sluice config check: what loading sluice.conf cannot see and
 * would still break `sluice start` or a daemon later: mail_owner, the
 * programs in daemon_directory, queue_directory, the secrets files, the
 * TLS certificates and keys. Each problem names the file (with the line
 * of sluice.conf that sets it), the value and the fix.
 *
 * The daemons run as mail_owner: as root, whether they can read or write
 * something is tried in a child that becomes mail_owner (every directory
 * on the way and every ACL counts); as anyone else it is tried as
 * ourselves, who the daemons then run as.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

/* lib/mail */
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/route.h"
/* lib/util */
#include "util/xmalloc.h"
/* this program */
#include "cli/cli.h"

/* The files that hold secrets: the daemons must read them, nobody else may. */
static const struct {
	const char *param;
	size_t offset;
	const char *unreadable;	/* what goes wrong when the daemons cannot read it */
} cli_secret_files[] = {
	{ "passwd_file", offsetof(struct config, passwd_file),
	    "every customer login would fail" },
	{ "smtpd_tls_key_file", offsetof(struct config, smtpd_tls_key_file),
	    "every customer login would fail" },
	{ "web_tls_key_file", offsetof(struct config, web_tls_key_file),
	    "every customer login would fail" },
	{ "peer_secret_file", offsetof(struct config, peer_secret_file),
	    "no trigger would pass to or from the peers" },
};

/* cli_secret_unreadable - the consequence cli_secret_files gives for param */
static const char *
cli_secret_unreadable(const char *param)
{
	size_t i;

	for (i = 0; i < sizeof(cli_secret_files) / sizeof(cli_secret_files[0]); i++)
		if (strcmp(cli_secret_files[i].param, param) == 0)
			return cli_secret_files[i].unreadable;
	return "every customer login would fail";
}

/* cli_try - open path for reading (amode R_OK), or access() it; 0 or errno */
static int
cli_try(const char *path, int amode)
{
	int fd;

	if (amode != R_OK)
		return access(path, amode) < 0 ? errno : 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno;
	(void)close(fd);
	return 0;
}

/*
 * cli_open_as - can uid:gid (no other groups, as master runs its
 * children) open path for reading (amode R_OK), or use it as amode says
 * (W_OK | X_OK: write into a directory)? 0 or the errno of the attempt.
 * As root the attempt is made in a child that becomes that user, so that
 * every directory on the way and every ACL counts; as anyone else the
 * daemons run as ourselves, and we just try.
 */
static int
cli_open_as(const char *path, uid_t uid, gid_t gid, int amode)
{
	int status;
	pid_t pid;

	if (geteuid() != 0)
		return cli_try(path, amode);
	if ((pid = fork()) < 0)
		return errno;
	if (pid == 0) {
		if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(EPERM);
		_exit(cli_try(path, amode));
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
}

int
cli_secret_check(struct cli *cli, const char *param, const char *path, bool strict)
{
	const char *user = cli->cfg->mail_owner, *tag = strict ? "" : "warning: ";
	const struct passwd *pw = NULL;
	struct group *gr;
	char gname[64];
	struct stat st;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int problems = 0, err;

	/* Not there, or not set: nothing to keep secret (no logins, a self-signed key). */
	if (path[0] == '\0' || stat(path, &st) < 0)
		return 0;
	/*
	 * As root: the daemons run as mail_owner. As mail_owner, or as a
	 * developer where no such user exists: they run as we do. As anyone
	 * else we cannot tell, and only the mode is checked.
	 */
	pw = getpwnam(user);
	if (uid == 0 && pw == NULL)
		return 0;	/* master refuses to start and says why */
	if (pw != NULL) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	gr = getgrgid(gid);
	snprintf(gname, sizeof(gname), "%s", gr != NULL ? gr->gr_name : "MAIL_OWNER_GROUP");
	if ((geteuid() == 0 || geteuid() == uid) && (err = cli_open_as(path, uid, gid, R_OK)) != 0) {
		cli_err("%s%s %s: the daemons (uid %ld, gid %ld) cannot read it: %s; %s. "
		    "Fix: chown root:%s %s && chmod 0640 %s", tag, param, path, (long)uid,
		    (long)gid, strerror(err), cli_secret_unreadable(param), gname, path, path);
		problems++;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		cli_err("%s%s %s: every local user can %s it (mode %04o). Fix: chown root:%s "
		    "%s && chmod 0640 %s", tag, param, path, st.st_mode & S_IWOTH ? "change" :
		    "read", (unsigned)(st.st_mode & 07777), gname, path, path);
		problems++;
	}
	return problems;
}

/* One run of the checks: who the daemons run as, and what was found. */
struct cli_check {
	struct cli *cli;
	const char *file;	/* the sluice.conf read for line numbers */
	const char *shown;	/* its name in messages */
	const char *tag;	/* "" or "warning: " */
	bool as_owner;		/* uid/gid are mail_owner's, and we may try as them */
	uid_t uid;
	gid_t gid;
	int problems;
};

/*
 * cli_where - "FILE:LINE: name = value" for a parameter set in
 * sluice.conf, "name = value (the default)" otherwise; a new string
 */
static char *
cli_where(const struct cli_check *ck, const char *name, const char *value)
{
	unsigned int line = cli_conf_find(ck->file, name, NULL);

	if (line == 0)
		return xasprintf("%s = %s (the default)", name, value);
	return xasprintf("%s:%u: %s = %s", ck->shown, line, name, value);
}

/* cli_problem - print one problem: where, what is wrong */
static void __attribute__((format(printf, 4, 5)))
cli_problem(struct cli_check *ck, const char *name, const char *value, const char *fmt, ...)
{
	char *where = cli_where(ck, name, value), *what;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	cli_err("%s%s: %s", ck->tag, where, what != NULL ? what : "(no memory)");
	free(what);
	free(where);
	ck->problems++;
}

/* cli_check_owner - mail_owner exists and is no superuser; who the daemons run as */
static void
cli_check_owner(struct cli_check *ck)
{
	const char *user = ck->cli->cfg->mail_owner;
	const struct passwd *pw = getpwnam(user);

	ck->uid = geteuid();
	ck->gid = getegid();
	if (pw == NULL) {
		/* Only a master started as root changes user; as anyone else it stays. */
		if (geteuid() == 0)
			cli_problem(ck, "mail_owner", user, "no such user, so master (started "
			    "as root) cannot hand the daemons to it and refuses to start. Fix: "
			    "adduser --system --group %s, or set mail_owner to an existing "
			    "unprivileged user", user);
		return;
	}
	if (pw->pw_uid == 0)
		cli_problem(ck, "mail_owner", user, "uid 0: the daemons that read the network "
		    "would run as the superuser. Fix: adduser --system --group sluice and set "
		    "mail_owner = sluice");
	else if (geteuid() == 0) {
		ck->uid = pw->pw_uid;
		ck->gid = pw->pw_gid;
		ck->as_owner = true;
	}
}

/* The programs master runs from daemon_directory, and when it needs them. */
static const struct {
	const char *name;
	size_t listen;		/* offset of the hostport_list that needs it, or 0: always */
} cli_programs[] = {
	{ "master", 0 },
	{ "qmgr", 0 },
	{ "smtpd", 0 },
	{ "deliver", 0 },
	{ "prober", 0 },
	{ "etrn", offsetof(struct config, odmr_listen) },
	{ "etrn", offsetof(struct config, odmrs_listen) },
	{ "fingerd", offsetof(struct config, finger_listen) },
	{ "web", offsetof(struct config, web_listen) },
	{ "peer", offsetof(struct config, peers) },
	{ "pop3", offsetof(struct config, pop3_listen) },
	{ "pop3", offsetof(struct config, pop3s_listen) },
};

/* cli_check_programs - every program master would run is there and executable */
static void
cli_check_programs(struct cli_check *ck)
{
	const char *dir = ck->cli->cfg->daemon_directory;
	const struct hostport_list *l;
	struct stat st;
	size_t i;
	char *path;

	for (i = 0; i < sizeof(cli_programs) / sizeof(cli_programs[0]); i++) {
		l = (const struct hostport_list *)(const void *)((const char *)ck->cli->cfg +
		    cli_programs[i].listen);
		if (cli_programs[i].listen != 0 && l->n == 0)
			continue;
		path = xasprintf("%s/%s", dir, cli_programs[i].name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || access(path, X_OK) < 0)
			cli_problem(ck, "daemon_directory", dir, "%s: %s, so start would fail. "
			    "Fix: set daemon_directory to where the sluice daemons are installed "
			    "(%s of the package), or reinstall sluice", path,
			    errno != 0 && stat(path, &st) < 0 ? strerror(errno) :
			    !S_ISREG(st.st_mode) ? "not a regular file" : "not executable",
			    "/usr/libexec/sluice");
		free(path);
	}
}

/* cli_check_queue - queue_directory: creatable, mail_owner's to write, no one else's */
static void
cli_check_queue(struct cli_check *ck)
{
	const char *qdir = ck->cli->cfg->queue_directory;
	char *parent = xstrdup(qdir), *slash;
	struct stat st;
	int err;

	if (stat(qdir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			cli_problem(ck, "queue_directory", qdir, "not a directory. Fix: remove "
			    "it or set queue_directory to a directory");
		else if (st.st_mode & (S_IWGRP | S_IWOTH))
			cli_problem(ck, "queue_directory", qdir, "%s can write into it (mode "
			    "%04o), and so change queued mail. Fix: chmod go-w %s",
			    st.st_mode & S_IWOTH ? "every local user" : "its group",
			    (unsigned)(st.st_mode & 07777), qdir);
		else if (ck->as_owner && st.st_uid != 0 && st.st_uid != ck->uid)
			cli_problem(ck, "queue_directory", qdir, "owned by uid %ld, not by "
			    "mail_owner %s (uid %ld): the daemons could not write it. Fix: "
			    "chown -R %s: %s", (long)st.st_uid, ck->cli->cfg->mail_owner,
			    (long)ck->uid, ck->cli->cfg->mail_owner, qdir);
		else if (st.st_uid != 0 && (err = cli_open_as(qdir, ck->uid, ck->gid,
		    W_OK | X_OK)) != 0)
			cli_problem(ck, "queue_directory", qdir, "the daemons (uid %ld) cannot "
			    "write into it: %s. Fix: chown -R %s: %s, and let them reach it "
			    "(chmod o+x on each directory above it)", (long)ck->uid,
			    strerror(err), ck->cli->cfg->mail_owner, qdir);
		free(parent);
		return;
	}
	/* Not there yet: master creates it, as root or as us, in its parent. */
	while ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (stat(parent, &st) == 0)
			break;
	}
	if (slash == parent)
		parent[1] = '\0';
	if ((err = cli_open_as(parent, geteuid(), getegid(), W_OK | X_OK)) != 0)
		cli_problem(ck, "queue_directory", qdir, "does not exist, and cannot be "
		    "created in %s: %s. Fix: mkdir -p %s as root, or set queue_directory to "
		    "a directory master may create", parent, strerror(err), qdir);
	else if (ck->as_owner && (err = cli_open_as(parent, ck->uid, ck->gid, X_OK)) != 0)
		cli_problem(ck, "queue_directory", qdir, "mail_owner %s (uid %ld) cannot "
		    "reach %s: %s. Fix: chmod o+x %s (and each directory above it)",
		    ck->cli->cfg->mail_owner, (long)ck->uid, parent, strerror(err), parent);
	free(parent);
}

/* cli_addr_here - is the numeric address host one that means this machine? */
static bool
cli_addr_here(const char *host)
{
	struct in_addr a4;

	if (strcmp(host, "::1") == 0 || strcmp(host, "::") == 0)
		return true;
	return inet_pton(AF_INET, host, &a4) == 1 &&
	    ((ntohl(a4.s_addr) >> 24) == 127 || a4.s_addr == 0);
}

/*
 * cli_check_route - a static route to our own smtp_listen: deliver would
 * hold every message of the domain as a loop ("loops back to myself")
 */
static int
cli_check_route(const struct domain *d, void *ctx)
{
	struct cli_check *ck = ctx;
	const struct hostport_list *l = &ck->cli->cfg->smtp_listen;
	char port[16];
	size_t i;

	if (d->route.mx || d->route.client || d->route.host == NULL)
		return 0;
	snprintf(port, sizeof(port), "%u", d->route.port);
	for (i = 0; i < l->n; i++) {
		const char *lh = l->v[i].host;

		if (strcmp(l->v[i].port, port) != 0)
			continue;
		if (strcmp(lh, d->route.host) != 0 && !((lh[0] == '\0' ||
		    strcmp(lh, "0.0.0.0") == 0 || strcmp(lh, "::") == 0) &&
		    cli_addr_here(d->route.host)))
			continue;
		cli_err("%s%s:%u: route=[%s]:%u: that is this host's own smtp_listen "
		    "%s:%s, so deliver would hold every message of %s as a loop. Fix: "
		    "route it to the customer's server, or route=mx", ck->tag, d->file,
		    d->line, d->route.host, d->route.port, lh[0] != '\0' ? lh : "*",
		    l->v[i].port, d->name);
		ck->problems++;
		break;
	}
	return 0;
}

/* cli_check_tls_pair - a certificate and its key: set together, readable, PEM, matching */
static void
cli_check_tls_pair(struct cli_check *ck, const char *cparam, const char *cert,
    const char *kparam, const char *key)
{
	SSL_CTX *ctx;
	int err;

	if (cert[0] == '\0' && key[0] == '\0')
		return;
	if (cert[0] == '\0' || key[0] == '\0') {
		cli_problem(ck, cert[0] == '\0' ? kparam : cparam, cert[0] == '\0' ? key : cert,
		    "set without %s, so TLS cannot be set up. Fix: set %s to the %s "
		    "file too, or set neither", cert[0] == '\0' ? cparam : kparam,
		    cert[0] == '\0' ? cparam : kparam, cert[0] == '\0' ? "certificate" : "key");
		return;
	}
	if (access(cert, F_OK) < 0) {
		cli_problem(ck, cparam, cert, "%s. Fix: point %s at the certificate, in PEM",
		    strerror(errno), cparam);
		return;
	}
	if ((err = cli_open_as(cert, ck->uid, ck->gid, R_OK)) != 0) {
		cli_problem(ck, cparam, cert, "the daemons (uid %ld, gid %ld) cannot read it: "
		    "%s. Fix: chmod 0644 %s, and let them reach it", (long)ck->uid,
		    (long)ck->gid, strerror(err), cert);
		return;
	}
	if (access(key, F_OK) < 0) {
		cli_problem(ck, kparam, key, "%s. Fix: point %s at the private key of %s",
		    strerror(errno), kparam, cert);
		return;
	}
	/* The key is a secret: readable and private, as the passwd file. */
	if (cli_secret_check(ck->cli, kparam, key, ck->tag[0] == '\0') > 0) {
		ck->problems++;
		return;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		cli_problem(ck, cparam, cert, "not a PEM certificate (%s). Fix: point %s at "
		    "the certificate in PEM (\"-----BEGIN CERTIFICATE-----\"), its chain after "
		    "it", ERR_reason_error_string(ERR_peek_last_error()), cparam);
	else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		cli_problem(ck, kparam, key, "not a PEM private key matching %s (%s). Fix: "
		    "point %s at the key of that certificate, in PEM", cert,
		    ERR_reason_error_string(ERR_peek_last_error()), kparam);
	else if (SSL_CTX_check_private_key(ctx) != 1)
		cli_problem(ck, kparam, key, "does not match the certificate %s. Fix: point "
		    "%s at the key the certificate was made for", cert, kparam);
	ERR_clear_error();
	SSL_CTX_free(ctx);
}

int
cli_config_check_files(struct cli *cli, bool strict)
{
	char *path = xasprintf("%s/sluice.conf", cli->config_dir != NULL ? cli->config_dir :
	    config_default_dir());
	int ret = cli_config_check_file(cli, strict, path, path);

	free(path);
	return ret;
}

int
cli_config_check_file(struct cli *cli, bool strict, const char *file, const char *shown)
{
	const struct config *cfg = cli->cfg;
	struct cli_check ck = { .cli = cli, .file = file, .shown = shown,
	    .tag = strict ? "" : "warning: " };
	const char *group = cfg->operator_group;

	cli_check_owner(&ck);
	if (group[0] != '\0' && getgrnam(group) == NULL)
		cli_problem(&ck, "operator_group", group, "no such group, so it lets nobody "
		    "in. Fix: addgroup --system %s, or set operator_group to an existing "
		    "group or to nothing", group);
	cli_check_programs(&ck);
	cli_check_queue(&ck);
	(void)domain_table_walk(cfg->domains, cli_check_route, &ck);
	ck.problems += cli_secret_check(cli, "passwd_file", cfg->passwd_file, strict);
	ck.problems += cli_secret_check(cli, "peer_secret_file", cfg->peer_secret_file, strict);
	cli_check_tls_pair(&ck, "smtpd_tls_cert_file", cfg->smtpd_tls_cert_file,
	    "smtpd_tls_key_file", cfg->smtpd_tls_key_file);
	cli_check_tls_pair(&ck, "web_tls_cert_file", cfg->web_tls_cert_file,
	    "web_tls_key_file", cfg->web_tls_key_file);
	/* As anyone but root, what mail_owner may read was tried as ourselves. */
	if (geteuid() != 0 && getpwnam(cfg->mail_owner) != NULL &&
	    getpwnam(cfg->mail_owner)->pw_uid != geteuid())
		cli_err("warning: not run as root: whether mail_owner %s can read the "
		    "secrets and certificates was not verified; run sluice config check "
		    "as root", cfg->mail_owner);
	return strict && ck.problems > 0 ? EX_CONFIG : 0;
}
