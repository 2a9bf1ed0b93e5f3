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
 *
 * And keeping the index in step with msg/: qmgr indexes each message
 * after every job, notice and request (qctl_index_message), and the
 * owner reconciles the whole index with msg/ when it opens it.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* system */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* lib/util */
#include "util/log.h"
#include "util/timemath.h"
#include "util/xmalloc.h"

/* lib/mail */
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/dsn.h"
#include "mail/qctl.h"
#include "mail/qctl_int.h"
#include "mail/qindex.h"
#include "mail/queue.h"

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

/* qctl_index_owner_open - open the index in dir as its owner, with the configured cache; 0/-1 */
static int
qctl_index_owner_open(struct qctl_env *env, const char *dir)
{
	return qindex_open_cache(dir, QINDEX_CREATE | QINDEX_RECOVER,
	    env->cfg != NULL ? env->cfg->queue_index_cache_size : 0, &env->qi);
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
	if (qctl_index_owner_open(env, dir) < 0) {
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
			int e = errno;

			/* Held and not waiting: the caller asks the holder instead. */
			if (e != EWOULDBLOCK || wait)
				log_warn("lock %s/.lock: %s", dir, e == EWOULDBLOCK ?
				    "held by another process (a running qmgr?)" : strerror(e));
			free(dir);
			errno = e;
			return -1;
		}
		usleep(100 * 1000);
	}
	if (qindex_check(dir, why, sizeof(why)) < 0)
		ret = qctl_index_fresh(env, dir, why);
	else if (qctl_index_owner_open(env, dir) < 0)
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
	return ret;
}

/* qctl_lifetime - the lifetime of mail for domain, in seconds */
static long
qctl_lifetime(const struct config *cfg, const char *domain)
{
	const struct domain *d = cfg->domains ? domain_find(cfg->domains, domain) : NULL;

	return d != NULL ? d->lifetime : cfg->maximal_queue_lifetime;
}

/* qctl_collect_old - walk callback: a copy of each entry into a struct qctl_old */
int
qctl_collect_old(const struct qindex_entry *e, void *ctx)
{
	struct qctl_old *old = ctx;
	struct qindex_entry *copy = qindex_entry_new(e->id, e->domain);

	copy->attempts = e->attempts;
	copy->next_try = e->next_try;
	copy->warned = e->warned;
	copy->flags = e->flags;
	copy->last_error = e->last_error ? xstrdup(e->last_error) : NULL;
	old->e = xreallocarray(old->e, old->n + 1, sizeof(*old->e));
	old->e[old->n++] = copy;
	return 0;
}

/* qctl_index_reset - see qctl.h */
int
qctl_index_reset(struct qctl_env *env)
{
	char *dir = xasprintf("%s/index", env->qdir);
	int removed;

	qindex_close(&env->qi);
	removed = qindex_remove_env(dir);
	/* Whatever is left (all of it, when the removal failed) is reopened: the owner keeps an index. */
	if (qctl_index_owner_open(env, dir) < 0) {
		log_warn("reopen queue index %s: failed (see above)", dir);
		free(dir);
		return -1;
	}
	free(dir);
	return removed < 0 ? -1 : qctl_reconcile(env);
}

/* qctl_bounce - see qctl.h */
int
qctl_bounce(struct qctl_env *env, const char *id, const struct envelope *msg,
    const struct dsn_rcpt *dr, const size_t *idx, size_t n, const struct dsn_params *p,
    enum journal_status how, bool *journalled)
{
	char nid[QUEUE_ID_LEN + 1];
	size_t i;
	int made;

	/*
	 * The notice is committed before the journal says "bounced": a crash
	 * between the two can send a notice twice, never lose one.
	 */
	if ((made = dsn_create(env->qdir, id, msg, dr, n, p, nid)) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		journalled[i] = queue_journal_append(env->qdir, id, idx[i], how) == 0;
		if (!journalled[i])
			log_warn("%s: journal %s: %s", id, dr[i].addr, strerror(errno));
	}
	if (made == 0) {
		if (qctl_index_message(env, nid) < 0)
			log_warn("%s: index notice: failed; it is indexed at the next start", nid);
		else if (env->hooks != NULL && env->hooks->changed != NULL)
			env->hooks->changed(env->hooks->ctx, nid);
	}
	return made;
}

/* qctl_index_message - see qctl.h */
int
qctl_index_message(struct qctl_env *env, const char *id)
{
	struct envelope *msg = NULL;
	int ret;

	if (!queue_id_ok(id))
		return -1;
	if (queue_read_envelope(env->qdir, id, &msg) < 0) {
		/* Gone or quarantined: the index must not keep a ghost. */
		if (errno == ENOENT || errno == EBADMSG)
			return qindex_del_message(env->qi, id) < 0 ? -1 : 0;
		log_warn("%s: read queue file: %s", id, strerror(errno));
		return -1;
	}
	ret = qctl_index_envelope(env, msg);
	envelope_free(&msg);
	return ret;
}

/* qctl_index_envelope - see qctl.h */
int
qctl_index_envelope(struct qctl_env *env, const struct envelope *msg)
{
	const char *id = msg->id;
	enum journal_status *st = NULL;
	struct qindex_entry **ents = NULL;
	struct qctl_old old = { 0 };
	size_t nents = 0, i, j;
	bool held;
	int ret = -1;

	st = xcalloc(msg->nrcpt ? msg->nrcpt : 1, sizeof(*st));
	if (queue_journal_read(env->qdir, id, msg->nrcpt, st) < 0) {
		/*
		 * A journal that fails validation can no longer say who has
		 * the message: delivering from it again would send copies on
		 * every flush. Message and journal go to corrupt/ for a human.
		 */
		if (errno == EBADMSG &&
		    queue_quarantine(env->qdir, id, "its journal failed validation") == 0)
			ret = qindex_del_message(env->qi, id) < 0 ? -1 : 0;
		else
			log_warn("%s: read journal: %s", id, strerror(errno));
		goto out;
	}
	for (i = 0; i < msg->nrcpt; i++) {
		char *domain;

		if (st[i] != JOURNAL_PENDING)
			continue;
		domain = address_domain_lower(msg->rcpt[i].addr);
		for (j = 0; j < nents; j++)
			if (strcmp(ents[j]->domain, domain) == 0)
				break;
		if (j == nents) {
			ents = xreallocarray(ents, nents + 1, sizeof(*ents));
			ents[nents] = qindex_entry_new(id, domain);
			ents[nents]->sender = xstrdup(msg->sender);
			ents[nents]->size = msg->content_size;
			ents[nents]->arrival = msg->arrival;
			/* A stored arrival may be absurd: the sum saturates. */
			ents[nents]->expiry = time_add_sat(msg->arrival,
			    qctl_lifetime(env->cfg, domain));
			nents++;
		}
		qindex_entry_add_rcpt(ents[j], msg->rcpt[i].addr, i);
		free(domain);
	}
	if (nents == 0) {
		/* Every recipient is finished: the message itself is done. */
		if (qindex_del_message(env->qi, id) < 0 || queue_remove(env->qdir, id) < 0)
			goto out;
		log_info("%s: removed", id);
		ret = 0;
		goto out;
	}
	held = queue_hold_get(env->qdir, id);
	/* Keep what the index knew (attempts, holds, errors) across a rewrite. */
	if (qindex_walk_message(env->qi, id, qctl_collect_old, &old) < 0 ||
	    qindex_del_message(env->qi, id) < 0)
		goto out;
	for (i = 0; i < nents; i++) {
		for (j = 0; j < old.n; j++) {
			if (strcmp(old.e[j]->domain, ents[i]->domain) != 0)
				continue;
			ents[i]->attempts = old.e[j]->attempts;
			ents[i]->next_try = old.e[j]->next_try;
			ents[i]->warned = old.e[j]->warned;
			ents[i]->flags = old.e[j]->flags;
			if (old.e[j]->last_error != NULL)
				ents[i]->last_error = xstrdup(old.e[j]->last_error);
		}
		/* The hold marker in the spool is the truth about holds. */
		ents[i]->flags = held ? (ents[i]->flags | QINDEX_F_HOLD) :
		    (ents[i]->flags & ~QINDEX_F_HOLD);
		if (qindex_put(env->qi, ents[i]) < 0)
			goto out;
	}
	/* Nothing was indexed before: the message arrives in the queue now. */
	if (old.n == 0 && env->hooks != NULL && env->hooks->entered != NULL)
		env->hooks->entered(env->hooks->ctx, msg);
	ret = 0;
out:
	for (i = 0; i < nents; i++)
		qindex_entry_free(&ents[i]);
	for (i = 0; i < old.n; i++)
		qindex_entry_free(&old.e[i]);
	free(old.e);
	free(ents);
	free(st);
	return ret;
}

/* qctl_collect_ids - walk callback: each message ID once into a struct qctl_scan */
int
qctl_collect_ids(const struct qindex_entry *e, void *ctx)
{
	struct qctl_scan *s = ctx;

	if (s->nids > 0 && strcmp(s->ids[s->nids - 1], e->id) == 0)
		return 0;
	s->ids = xreallocarray(s->ids, s->nids + 1, sizeof(*s->ids));
	s->ids[s->nids++] = xstrdup(e->id);
	return 0;
}
