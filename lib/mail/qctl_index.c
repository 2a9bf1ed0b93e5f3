/*
 * qctl_index - who owns the index, and what happens when it is damaged.
 *
 * One process at a time opens the index with recovery: the holder of the
 * flock on index/.lock (qmgr, or the CLI when no qmgr runs). Before use
 * the owner checks it (qindex_check: recovery, DB->verify of every
 * database, every record decoded, all in a child process); on any sign
 * of damage, then or later, the index is set aside as
 * index.damaged.TIMESTAMP for a human and rebuilt from msg/ and the
 * journals (DESIGN.md: the index is a cache even when it is damaged).
 */
#include "config.h"

/* system */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"

/* lib/mail */
#include "mail/qctl.h"
#include "mail/qindex.h"

int
qctl_index_lock(const char *qdir)
{
	char *dir = xasprintf("%s/index", qdir), *path = xasprintf("%s/.lock", dir);
	int fd, saved;

	/* The index directory may have been removed by hand: it is only a cache. */
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		saved = errno;
		free(dir);
		free(path);
		errno = saved;
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	saved = errno;
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		saved = errno;
		close(fd);
		fd = -1;
	}
	free(dir);
	free(path);
	errno = saved;
	return fd;
}

/*
 * qctl_index_fresh - set the closed, damaged index in dir aside and open
 * an empty one; the one warning line an operator needs. 0/-1
 */
static int
qctl_index_fresh(struct qctl_env *env, const char *dir, const char *why)
{
	char *kept = NULL;

	if (qindex_set_aside(dir, &kept) < 0) {
		/* Could not keep it: a cache is still not worth stopping the mail for. */
		log_warn("set aside queue index %s: failed; removing it", dir);
		if (qindex_remove_env(dir) < 0)
			return -1;
	}
	if (qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &env->qi) < 0) {
		log_warn("create queue index %s: failed (see above)", dir);
		free(kept);
		return -1;
	}
	log_warn("queue index damaged (%s): kept as %s, rebuilding it from %s/msg and "
	    "the journals", why, kept != NULL ? kept : "nothing", env->qdir);
	free(kept);
	return 0;
}

int
qctl_index_open(struct qctl_env *env, int *lock_fd_r, bool wait)
{
	char *dir = xasprintf("%s/index", env->qdir);
	char why[128];
	int fd, tries = 0, ret = 0;

	while ((fd = qctl_index_lock(env->qdir)) < 0) {
		if (errno != EWOULDBLOCK || !wait || ++tries > 300) {
			log_warn("lock %s/.lock: %s", dir, errno == EWOULDBLOCK ?
			    "held by another process (a running qmgr?)" : strerror(errno));
			free(dir);
			return -1;
		}
		usleep(100 * 1000);
	}
	if (qindex_check(dir, why, sizeof(why)) < 0)
		ret = qctl_index_fresh(env, dir, why);
	else if (qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &env->qi) < 0)
		ret = qctl_index_fresh(env, dir, "it will not open");
	free(dir);
	if (ret < 0) {
		close(fd);
		return -1;
	}
	*lock_fd_r = fd;
	return 0;
}

int
qctl_index_rebuild(struct qctl_env *env)
{
	char *dir = xasprintf("%s/index", env->qdir);
	int ret;

	qindex_close(&env->qi);
	ret = qctl_index_fresh(env, dir, "damage seen while in use");
	free(dir);
	if (ret < 0)
		return -1;
	return qctl_reconcile(env);
}
