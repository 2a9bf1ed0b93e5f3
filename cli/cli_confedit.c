/*
 * cli_confedit - sluice config -e name=value and -X name: edit sluice.conf
 * in place, as postconf -e and -X do, without ever leaving a broken or
 * half-written file behind.
 *
 * The edit is made under an flock() on CONFIG_DIR/sluice.conf.lock (two
 * operators at once take turns), on a regular file only (a symbolic link
 * is refused: O_NOFOLLOW), to a copy beside it with the file's owner and
 * mode. The copy is loaded with the daemons' own loader and checked as
 * `sluice config check` does; only then is it fsync()ed and renamed over
 * sluice.conf, and the directory fsync()ed. Comments, blank lines and the
 * order of settings stay: a setting's first line is replaced (later
 * duplicates and continuation lines go), a new one is appended.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* lib/mail */
#include "mail/conf.h"
/* lib/util */
#include "util/xmalloc.h"
/* this program */
#include "cli/cli.h"

/* How long an edit waits for another one to finish. */
#define CLI_EDIT_LOCK_WAIT_S	10

/* What a physical line of sluice.conf is, as the loader reads it. */
enum cli_conf_kind {
	CLI_CONF_OTHER,		/* blank, comment, or a line the loader rejects */
	CLI_CONF_SETTING,	/* "name = value" */
	CLI_CONF_CONT,		/* white space first: continues the setting before */
};

/*
 * cli_conf_kind - classify line (no newline); for a setting, its name's
 * length in *nlen_r
 */
static enum cli_conf_kind
cli_conf_kind(const char *line, size_t *nlen_r)
{
	const char *p;
	size_t nlen;

	p = line + strspn(line, " \t\r");
	if (*p == '\0' || *p == '#')
		return CLI_CONF_OTHER;
	if (p != line)
		return CLI_CONF_CONT;
	for (nlen = 0; isalnum((unsigned char)line[nlen]) || line[nlen] == '_'; nlen++)
		;
	p = line + nlen + strspn(line + nlen, " \t");
	if (nlen == 0 || *p != '=')
		return CLI_CONF_OTHER;
	*nlen_r = nlen;
	return CLI_CONF_SETTING;
}

/* cli_conf_is - is line a setting of name? */
static bool
cli_conf_is(const char *line, const char *name)
{
	size_t nlen;

	return cli_conf_kind(line, &nlen) == CLI_CONF_SETTING && nlen == strlen(name) &&
	    memcmp(line, name, nlen) == 0;
}

unsigned int
cli_conf_find(const char *path, const char *name, char **value_r)
{
	char *buf = NULL, *value = NULL, *tmp;
	unsigned int lineno = 0, found = 0;
	bool mine = false;
	size_t cap = 0, nlen;
	ssize_t n;
	FILE *fp;

	if (value_r != NULL)
		*value_r = NULL;
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	while ((n = getline(&buf, &cap, fp)) != -1) {
		lineno++;
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = '\0';
		switch (cli_conf_kind(buf, &nlen)) {
		case CLI_CONF_SETTING:
			if (!(mine = cli_conf_is(buf, name)))
				break;
			found = lineno;
			free(value);
			tmp = buf + nlen + strspn(buf + nlen, " \t") + 1;
			value = xstrdup(tmp + strspn(tmp, " \t"));
			break;
		case CLI_CONF_CONT:
			if (mine) {
				tmp = xasprintf("%s %s", value, buf + strspn(buf, " \t"));
				free(value);
				value = tmp;
			}
			break;
		case CLI_CONF_OTHER:
			break;
		}
	}
	fclose(fp);
	free(buf);
	if (value != NULL)
		for (tmp = value + strlen(value); tmp > value && isspace((unsigned char)tmp[-1]);)
			*--tmp = '\0';
	if (value_r != NULL)
		*value_r = value;
	else
		free(value);
	return found;
}

/* One edit from the command line. */
struct cli_edit {
	const char *name;	/* the parameter (points into its argv word) */
	size_t nlen;
	const char *value;	/* NULL: remove (-X) */
	bool done;		/* its line is written */
};

/*
 * cli_edit_parse - check every argument before anything is touched:
 * EX_USAGE naming the first bad one
 */
static int
cli_edit_parse(int argc, char **argv, bool remove, struct cli_edit *ed)
{
	char name[128];
	const char *eq;
	int i;

	for (i = 0; i < argc; i++) {
		eq = remove ? NULL : strchr(argv[i], '=');
		ed[i].name = argv[i];
		ed[i].nlen = eq != NULL ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		while (ed[i].nlen > 0 && isspace((unsigned char)argv[i][ed[i].nlen - 1]))
			ed[i].nlen--;
		ed[i].value = eq != NULL ? eq + 1 + strspn(eq + 1, " \t") : NULL;
		if (!remove && eq == NULL) {
			cli_err("config -e %s: want name=value, as in "
			    "sluice config -e smtpd_timeout=5m", argv[i]);
			return EX_USAGE;
		}
		snprintf(name, sizeof(name), "%.*s", (int)ed[i].nlen, argv[i]);
		if (ed[i].nlen >= sizeof(name) || !config_param_known(name)) {
			cli_err("config %s %s: unknown parameter \"%s\"; see sluice config -d "
			    "and sluice.conf(5)", remove ? "-X" : "-e", argv[i], name);
			return EX_USAGE;
		}
		if (ed[i].value != NULL && strpbrk(ed[i].value, "\r\n") != NULL) {
			cli_err("config -e %s: the value has a line break; give it on one line",
			    name);
			return EX_USAGE;
		}
	}
	return 0;
}

/* cli_edit_of - the edit of the setting on line, or NULL */
static struct cli_edit *
cli_edit_of(const char *line, struct cli_edit *ed, int n)
{
	size_t nlen;
	int i;

	if (cli_conf_kind(line, &nlen) != CLI_CONF_SETTING)
		return NULL;
	/* The last one given wins, as in the file. */
	for (i = n - 1; i >= 0; i--)
		if (ed[i].nlen == nlen && memcmp(ed[i].name, line, nlen) == 0)
			return &ed[i];
	return NULL;
}

/* cli_edit_write - the edited text of in to out; -1 on a write error */
static int
cli_edit_write(FILE *in, FILE *out, struct cli_edit *ed, int n)
{
	char *buf = NULL;
	size_t cap = 0, len;
	ssize_t got;
	struct cli_edit *cur = NULL, *e;
	int i;

	while ((got = getline(&buf, &cap, in)) != -1) {
		len = (size_t)got;
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		switch (cli_conf_kind(buf, &len)) {
		case CLI_CONF_SETTING:
			if ((cur = cli_edit_of(buf, ed, n)) == NULL)
				break;
			/* Replace the first setting of the name; drop the others. */
			for (e = &ed[0]; e < ed + n; e++)
				if (e->nlen == cur->nlen && memcmp(e->name, cur->name, e->nlen) == 0 &&
				    e != cur)
					e->done = true;
			if (!cur->done && cur->value != NULL)
				fprintf(out, "%.*s = %s\n", (int)cur->nlen, cur->name, cur->value);
			cur->done = true;
			continue;
		case CLI_CONF_CONT:
			if (cur != NULL)
				continue;
			break;
		case CLI_CONF_OTHER:
			break;
		}
		fprintf(out, "%s\n", buf);
	}
	free(buf);
	if (ferror(in))
		return -1;
	for (i = 0; i < n; i++) {
		/* Not in the file: appended, once, with the last value given. */
		if (ed[i].done || ed[i].value == NULL || cli_edit_of(ed[i].name, ed, n) != &ed[i])
			continue;
		fprintf(out, "%.*s = %s\n", (int)ed[i].nlen, ed[i].name, ed[i].value);
		ed[i].done = true;
	}
	return fflush(out) != 0 || ferror(out) ? -1 : 0;
}

/* cli_edit_lock - flock() CONFIG_DIR/sluice.conf.lock; the fd, or -1 (printed) */
static int
cli_edit_lock(const char *dir)
{
	char *path = xasprintf("%s/sluice.conf.lock", dir);
	int fd, tries;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		cli_err("config: open lock file %s: %s; sluice config -e needs to create it "
		    "in the configuration directory (run as root)", path, strerror(errno));
		free(path);
		return -1;
	}
	for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; tries++) {
		struct timespec ts = { 0, 100 * 1000000L };

		if (errno != EWOULDBLOCK || tries >= CLI_EDIT_LOCK_WAIT_S * 10) {
			cli_err("config: lock %s: %s; another sluice config -e is still "
			    "running: wait for it and try again", path, errno == EWOULDBLOCK ?
			    "held by another process" : strerror(errno));
			close(fd);
			free(path);
			return -1;
		}
		(void)nanosleep(&ts, NULL);
	}
	free(path);
	return fd;
}

/* cli_edit_fsync_dir - make the rename durable; 0 or -1 (printed) */
static int
cli_edit_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		cli_err("config: fsync directory %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * cli_edit_check - load the edited copy tmp as the daemons would, and
 * check it as config check does; 0 or EX_CONFIG (printed)
 */
static int
cli_edit_check(struct cli *cli, const char *dir, const char *tmp, const char *path)
{
	struct config_errors errs = { 0 };
	struct config *cfg = NULL, *old;
	size_t i;
	int ret;

	ret = config_load_from(dir, tmp, path, &cfg, &errs);
	for (i = 0; i < errs.n; i++)
		cli_err("%s", errs.msg[i]);
	config_errors_clear(&errs);
	if (ret < 0)
		return EX_CONFIG;
	old = cli->cfg;
	cli->cfg = cfg;
	ret = cli_config_check_file(cli, true, tmp, path);
	cli->cfg = old;
	config_free(&cfg);
	return ret;
}

int
cli_config_edit(struct cli *cli, int argc, char **argv, bool remove)
{
	const char *dir = cli->config_dir != NULL ? cli->config_dir : config_default_dir();
	struct cli_edit *ed;
	char *path = NULL, *tmp = NULL;
	int lock = -1, fd = -1, out = -1, ret;
	struct config *cfg;
	struct stat st;
	FILE *in = NULL, *fo = NULL;
	pid_t pid;

	if (argc < 1)
		return cli_usage(stderr, remove ? "config -X" : "config -e");
	ed = xcalloc((size_t)argc, sizeof(*ed));
	if ((ret = cli_edit_parse(argc, argv, remove, ed)) != 0)
		goto done;
	ret = EX_CANTCREAT;
	if ((lock = cli_edit_lock(dir)) < 0)
		goto done;
	path = xasprintf("%s/sluice.conf", dir);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ELOOP)
			cli_err("config: %s is a symbolic link; sluice config -e edits only a "
			    "regular file. Fix: edit the file it points to by hand, or replace "
			    "the link by that file", path);
		else
			cli_err("config: open %s: %s", path, strerror(errno));
		ret = errno == ENOENT ? EX_NOINPUT : EX_CANTCREAT;
		goto done;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		cli_err("config: %s is not a regular file; sluice config -e edits only one",
		    path);
		goto done;
	}
	tmp = xasprintf("%s/.sluice.conf.XXXXXX", dir);
	if ((out = mkstemp(tmp)) < 0) {
		cli_err("config: create %s: %s", tmp, strerror(errno));
		xfree(&tmp);
		goto done;
	}
	/* The copy gets the file's owner and mode before it holds anything. */
	if (fchmod(out, st.st_mode & 07777) < 0 ||
	    ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(out, st.st_uid, st.st_gid) < 0)) {
		cli_err("config: keep owner %ld:%ld and mode %04o of %s on the new copy: %s; "
		    "run as root", (long)st.st_uid, (long)st.st_gid,
		    (unsigned)(st.st_mode & 07777), path, strerror(errno));
		goto done;
	}
	in = fdopen(fd, "r");
	fd = -1;
	fo = fdopen(out, "w");
	out = -1;
	if (in == NULL || fo == NULL || cli_edit_write(in, fo, ed, argc) < 0 ||
	    fsync(fileno(fo)) < 0) {
		cli_err("config: write %s: %s", tmp, strerror(errno));
		goto done;
	}
	if ((ret = cli_edit_check(cli, dir, tmp, path)) != 0) {
		cli_err("config: %s not changed", path);
		goto done;
	}
	if (rename(tmp, path) < 0) {
		cli_err("config: rename %s to %s: %s", tmp, path, strerror(errno));
		ret = EX_CANTCREAT;
		goto done;
	}
	xfree(&tmp);
	if (cli_edit_fsync_dir(dir) < 0) {
		ret = EX_IOERR;
		goto done;
	}
	ret = EX_OK;
	/* A running master keeps the old values until it is told. */
	if (cli_config_load(cli, false) == 0 && (cfg = cli->cfg) != NULL &&
	    cli_master(cfg, &pid) == 1)
		cli_err("%s changed; run \"sluice reload\" to make the running "
		    "master (pid %ld) use it", path, (long)pid);
done:
	if (in != NULL)
		fclose(in);
	if (fo != NULL)
		fclose(fo);
	if (fd >= 0)
		close(fd);
	if (out >= 0)
		close(out);
	if (tmp != NULL)
		(void)unlink(tmp);
	if (lock >= 0)
		close(lock);
	free(tmp);
	free(path);
	free(ed);
	return ret;
}
