/*
 * cli_passwd - sluice passwd LOGIN [-f FILE]: write a customer's credentials
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* lib/util */
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/passwd.h"
/* this program */
#include "cli/cli.h"

int cli_cmd_passwd(struct cli *cli, int argc, char **argv);

/* cli_passwd_line - read one line from fp without its newline; new string or NULL */
static char *
cli_passwd_line(FILE *fp)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, fp);

	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

/* cli_passwd_prompt - ask on the terminal with echo off; new string or NULL */
static char *
cli_passwd_prompt(const char *prompt)
{
	struct termios old, quiet;
	char *pw;
	bool restore;

	fputs(prompt, stderr);
	fflush(stderr);
	restore = tcgetattr(STDIN_FILENO, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	pw = cli_passwd_line(stdin);
	if (restore)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	return pw;
}

/* cli_passwd_free - wipe a password and free it */
static void
cli_passwd_free(char *pw)
{
	if (pw == NULL)
		return;
	OPENSSL_cleanse(pw, strlen(pw));
	free(pw);
}

/* cli_passwd_read - the new password: twice on a tty, else one stdin line */
static char *
cli_passwd_read(const char *login)
{
	char *pw, *again, *prompt;

	if (!isatty(STDIN_FILENO)) {
		pw = cli_passwd_line(stdin);
		if (pw == NULL)
			cli_err("passwd: no password on standard input");
		return pw;
	}
	prompt = xasprintf("New password for %s: ", login);
	pw = cli_passwd_prompt(prompt);
	free(prompt);
	if (pw == NULL)
		return NULL;
	again = cli_passwd_prompt("Retype new password: ");
	if (again == NULL || strcmp(pw, again) != 0) {
		cli_err("passwd: the passwords do not match; nothing changed");
		cli_passwd_free(pw);
		pw = NULL;
	}
	cli_passwd_free(again);
	return pw;
}

/* cli_passwd_login_of - does this file line belong to login? */
static bool
cli_passwd_login_of(const char *line, const char *login)
{
	size_t n = strlen(login);

	while (*line == ' ' || *line == '\t')
		line++;
	return strncmp(line, login, n) == 0 && line[n] == ':';
}

/* cli_passwd_sync_dir - fsync the directory holding path, so the rename lasts */
static int
cli_passwd_sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = 0;

	if (fd < 0 || fsync(fd) < 0)
		ret = -1;
	if (fd >= 0)
		(void)close(fd);
	free(copy);
	return ret;
}

/*
 * cli_passwd_group - as root, the group the daemons read the passwd file
 * with (mail_owner's), or -1: root:mail_owner 0640 keeps it from everyone
 * else while smtpd, etrn and web, running as mail_owner, can read it.
 */
static gid_t
cli_passwd_group(struct cli *cli)
{
	const struct passwd *pw;

	if (geteuid() != 0 || (cli->cfg == NULL && cli_config_load(cli, false) != 0))
		return (gid_t)-1;
	pw = getpwnam(cli->cfg->mail_owner);
	return pw != NULL ? pw->pw_gid : (gid_t)-1;
}

/*
 * cli_passwd_keep_warn - the new file could not get the old one's owner,
 * group or mode: say so and what to run, then write it anyway (the
 * password change is what was asked; config check reports the result).
 */
static void
cli_passwd_keep_warn(const char *path, const char *what, int err)
{
	cli_err("passwd: warning: could not set the %s of %s: %s; check it with "
	    "\"ls -l %s\" and \"sluice config check\"", what, path, strerror(err), path);
}

/*
 * cli_passwd_write - path with login's line replaced by entry (or added),
 * through a temporary file renamed over it, so that a reader sees the old
 * file or the new one, never half of one. *replaced_r says which. 0/-1.
 */
static int
cli_passwd_write(const char *path, const char *login, const char *entry,
    gid_t group, bool *replaced_r)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid()), *line;
	FILE *in = fopen(path, "re"), *out;
	struct stat st;
	int fd, e;

	*replaced_r = false;
	if (in == NULL && errno != ENOENT) {
		cli_err("passwd: open %s: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	/* O_EXCL|O_NOFOLLOW: never write through a planted file or link. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0 || (out = fdopen(fd, "w")) == NULL) {
		cli_err("passwd: create %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		if (in != NULL)
			fclose(in);
		free(tmp);
		return -1;
	}
	/*
	 * Keep the owner, group and mode of the file we replace: the daemons
	 * read it with mail_owner's group, and forcing 0640 on a root:root
	 * file locked them out (every customer login failed). A new file is
	 * root:mail_owner's group 0640. cli_secret_check() then says what is
	 * still wrong with the result.
	 */
	if (in != NULL && fstat(fileno(in), &st) == 0) {
		if (geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) < 0)
			cli_passwd_keep_warn(path, "owner", errno);
		if (fchmod(fd, st.st_mode & 07777) < 0)
			cli_passwd_keep_warn(path, "mode", errno);
	} else {
		if (group != (gid_t)-1 && fchown(fd, 0, group) < 0)
			cli_passwd_keep_warn(path, "group", errno);
		if (fchmod(fd, 0640) < 0)
			cli_passwd_keep_warn(path, "mode", errno);
	}
	while (in != NULL && (line = cli_passwd_line(in)) != NULL) {
		if (cli_passwd_login_of(line, login)) {
			if (!*replaced_r)
				fprintf(out, "%s\n", entry);
			*replaced_r = true;
		} else
			fprintf(out, "%s\n", line);
		free(line);
	}
	if (!*replaced_r)
		fprintf(out, "%s\n", entry);
	e = in != NULL && ferror(in) ? EIO : 0;
	if (in != NULL)
		fclose(in);
	if (fflush(out) != 0 || fsync(fileno(out)) < 0)
		e = errno;
	if (fclose(out) != 0 && e == 0)
		e = errno;
	if (e == 0 && rename(tmp, path) < 0)
		e = errno;
	if (e != 0) {
		cli_err("passwd: write %s: %s", path, strerror(e));
		(void)unlink(tmp);
		free(tmp);
		return -1;
	}
	if (cli_passwd_sync_dir(path) < 0)
		cli_err("passwd: warning: fsync the directory of %s: %s", path,
		    strerror(errno));
	free(tmp);
	return 0;
}

/* cli_cmd_passwd - passwd LOGIN [-f FILE] */
int
cli_cmd_passwd(struct cli *cli, int argc, char **argv)
{
	const char *login = NULL, *file = NULL, *why;
	char *pw, *entry;
	bool replaced;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0 && i + 1 < argc && file == NULL)
			file = argv[++i];
		else if (argv[i][0] != '-' && login == NULL)
			login = argv[i];
		else
			return cli_usage(stderr, "passwd");
	}
	if (login == NULL)
		return cli_usage(stderr, "passwd");
	if (!passwd_login_ok(login)) {
		cli_err("passwd: bad login %s: use 1 to %d of letters, digits and ._@+-",
		    login, PASSWD_LOGIN_MAX);
		return EX_DATAERR;
	}
	if (file == NULL) {
		if ((ret = cli_config_need(cli)) != 0)
			return ret;
		file = cli->cfg->passwd_file;
	}
	if ((pw = cli_passwd_read(login)) == NULL)
		return EX_DATAERR;
	if (*pw == '\0') {
		cli_err("passwd: empty password; nothing changed");
		cli_passwd_free(pw);
		return EX_DATAERR;
	}
	ret = passwd_entry_make(login, pw, &entry, &why);
	cli_passwd_free(pw);
	if (ret < 0) {
		cli_err("passwd: %s", why);
		return EX_DATAERR;
	}
	ret = cli_passwd_write(file, login, entry, cli_passwd_group(cli),
	    &replaced);
	cli_passwd_free(entry);
	if (ret < 0)
		return EX_CANTCREAT;
	fprintf(cli->out, "sluice: %s password of %s in %s\n",
	    replaced ? "changed the" : "added a", login, file);
	if (cli->cfg != NULL || cli_config_load(cli, false) == 0)
		(void)cli_secret_check(cli, "passwd_file", file, false);
	return EX_OK;
}
