/*
 * cli_config - sluice config: print and check sluice.conf, as postconf does
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

/* lib/mail */
#include "mail/conf.h"
/* this program */
#include "cli/cli.h"

/* cli_config_names - print "name = value" for each named parameter */
static int
cli_config_names(struct cli *cli, int argc, char **argv)
{
	char *value;
	int i, ret;

	/* Check every name before printing any, so that output is all or nothing. */
	for (i = 0; i < argc; i++) {
		if (!config_param_known(argv[i])) {
			cli_err("config %s: unknown parameter; see sluice config -d",
			    argv[i]);
			return EX_USAGE;
		}
	}
	if ((ret = cli_config_need(cli)) != 0)
		return ret;
	for (i = 0; i < argc; i++) {
		if (config_get(cli->cfg, argv[i], &value) < 0) {
			cli_err("config %s: cannot get its value", argv[i]);
			return EX_SOFTWARE;
		}
		fprintf(cli->out, "%s = %s\n", argv[i], value);
		free(value);
	}
	return EX_OK;
}

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

/*
 * cli_open_as - can uid:gid (no other groups, as master runs its
 * children) open path for reading? 0 or the errno of the attempt. As root
 * the attempt is made in a child that becomes that user, so that every
 * directory on the way and every ACL counts; as anyone else the daemons
 * run as ourselves, and we just try.
 */
static int
cli_open_as(const char *path, uid_t uid, gid_t gid)
{
	int fd, status;
	pid_t pid;

	if (geteuid() != 0) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return errno;
		(void)close(fd);
		return 0;
	}
	if ((pid = fork()) < 0)
		return errno;
	if (pid == 0) {
		if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(EPERM);
		_exit((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ? errno : 0);
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
	if ((geteuid() == 0 || geteuid() == uid) && (err = cli_open_as(path, uid, gid)) != 0) {
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

/*
 * cli_config_check_files - what loading the config cannot see: the secrets
 * files and operator_group; 0, or EX_CONFIG when strict and something is
 * wrong (all printed)
 */
int
cli_config_check_files(struct cli *cli, bool strict)
{
	const char *group = cli->cfg->operator_group;
	size_t i;
	int problems = 0;

	if (group[0] != '\0' && getgrnam(group) == NULL) {
		cli_err("%soperator_group %s: no such group, so it lets nobody in. Fix: "
		    "addgroup --system %s, or set operator_group to an existing group or "
		    "to nothing", strict ? "" : "warning: ", group, group);
		problems++;
	}
	for (i = 0; i < sizeof(cli_secret_files) / sizeof(cli_secret_files[0]); i++)
		problems += cli_secret_check(cli, cli_secret_files[i].param,
		    *(char *const *)((const char *)cli->cfg + cli_secret_files[i].offset), strict);
	return strict && problems > 0 ? EX_CONFIG : 0;
}

/* cli_cmd_config - config [NAME...] | config -d | config check */
int
cli_cmd_config(struct cli *cli, int argc, char **argv)
{
	int i, ret;

	for (i = 1; i < argc; i++)
		if (argv[i][0] == '-' && strcmp(argv[i], "-d") != 0) {
			cli_err("config: unknown option %s", argv[i]);
			return cli_usage(stderr, "config");
		}
	if (argc >= 2 && strcmp(argv[1], "-d") == 0) {
		if (argc != 2)
			return cli_usage(stderr, "config -d");
		/* The defaults come from the parameter table: no file is read. */
		config_print(cli->out, NULL, CONFIG_PRINT_DEFAULTS);
		return EX_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "check") == 0) {
		if (argc != 2)
			return cli_usage(stderr, "config check");
		if ((ret = cli_config_load(cli, true)) != 0)
			return ret;
		return cli_config_check_files(cli, true);
	}
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-d") == 0)
			return cli_usage(stderr, "config");
	if (argc > 1)
		return cli_config_names(cli, argc - 1, argv + 1);
	if ((ret = cli_config_need(cli)) != 0)
		return ret;
	config_print(cli->out, cli->cfg, CONFIG_PRINT_NONDEFAULT);
	return EX_OK;
}
