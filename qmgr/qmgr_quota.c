/*
 * qmgr_quota - the usage of capped domains (max_messages=, max_bytes=):
 * figures for smtpd in private/quota, and the notices to notify=
 *
 * qmgr owns the index, so it alone counts what a domain holds. smtpd must
 * not wait for qmgr at every RCPT, so qmgr writes the figures of every
 * capped domain to private/quota (mail/quota.h) whenever they change: at
 * once when it indexes a message for such a domain (the file then names
 * that message, so that smtpd stops counting it as its own) or when a job
 * of one ends, and every QMGR_QUOTA_REFRESH_MS for the rest (the
 * operator's delete and bounce, expiry). Each count is a lookup of the
 * domain's figures in the index (qindex_domain_stats), not a walk of its
 * mail.
 *
 * The notices (one at 80%, one when full) are remembered per domain in
 * private/quota-notified, written before the notice is queued, so that a
 * restarted qmgr never sends one twice.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* lib/util */
#include "util/events.h"
#include "util/htable.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/dsn.h"
#include "mail/qindex.h"
#include "mail/quota.h"
/* qmgr */
#include "qmgr/qmgr.h"

/* How often every capped domain is counted again (ms). */
#define QMGR_QUOTA_REFRESH_MS 10000

static int
qmgr_quota_save_one(const char *key, void *value, void *ctx)
{
	const enum quota_level *l = value;

	if (*l != QUOTA_LEVEL_NONE)
		fprintf(ctx, "%s %s\n", key, quota_level_name(*l));
	return 0;
}

/* qmgr_quota_notified_save - write private/quota-notified (fsync'd: it stops a
 * second notice) */
static int
qmgr_quota_notified_save(struct qmgr *q)
{
	char *path = xasprintf("%s/%s", q->env.qdir, QUOTA_NOTIFIED_FILE);
	char *tmp = xasprintf("%s.tmp", path), *dir = NULL;
	FILE *fp = NULL;
	int fd, ret = -1;

	/*
	 * A new file each time (unlink, O_EXCL): a temporary file left with
	 * another mode or owner would pass them on to the one readers trust.
	 */
	(void)unlink(tmp);
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
		log_warn("write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	htable_walk(q->quota_notified, qmgr_quota_save_one, fp);
	if (fflush(fp) != 0 || fsync(fileno(fp)) < 0 || ferror(fp)) {
		log_warn("write %s: %s", tmp, strerror(errno));
		fclose(fp);
		(void)unlink(tmp);
		goto out;
	}
	if (fclose(fp) != 0 || rename(tmp, path) < 0) {
		log_warn("write %s: %s", path, strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	/* The rename lasts only once private/ is on disk: then the notice may
	 * go. */
	dir = xasprintf("%s/private", q->env.qdir);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(fd) < 0) {
		log_warn("fsync %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	ret = 0;
out:
	free(dir);
	free(tmp);
	free(path);
	return ret;
}

/*
 * qmgr_quota_notified_load - read private/quota-notified; bad lines are
 * skipped and counted in one warning, so a garbage file cannot flood the log
 */
static void
qmgr_quota_notified_load(struct qmgr *q)
{
	char *path = xasprintf("%s/%s", q->env.qdir, QUOTA_NOTIFIED_FILE);
	char line[QUOTA_LINE_MAX], name[QUOTA_LINE_MAX], word[QUOTA_LINE_MAX];
	enum quota_level l, *v;
	unsigned lineno = 0, nbad = 0, first = 0;
	char *err = NULL;
	FILE *fp;
	int fd;

	fd = quota_private_open(path, &err);
	if (fd < 0 || (fp = fdopen(fd, "r")) == NULL) {
		if (errno != ENOENT)
			log_warn(
			    "read %s: %s; the 80%% and full notices already "
			    "sent may be sent again",
			    path, err != NULL ? err : strerror(errno));
		if (fd >= 0)
			close(fd);
		free(err);
		free(path);
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (sscanf(line, "%511s %511s", name, word) != 2 ||
		    !address_domain_ok(name, strlen(name)) ||
		    !quota_level_parse(word, &l)) {
			if (nbad++ == 0)
				first = lineno;
			continue;
		}
		v = htable_get(q->quota_notified, name);
		if (v == NULL) {
			v = xmalloc(sizeof(*v));
			htable_put(q->quota_notified, name, v);
		}
		*v = l;
	}
	if (nbad > 0)
		log_warn(
		    "%s, line %u: not \"DOMAIN near|full\"; %u such line%s "
		    "ignored",
		    path, first, nbad, nbad == 1 ? "" : "s");
	fclose(fp);
	free(path);
}

/* qmgr_quota_usage - what the index holds for domain name; 0/-1 */
int
qmgr_quota_usage(struct qmgr *q, const char *name, struct quota_usage *u_r)
{
	struct qindex_domain_stats st;

	/* The index keeps each domain's entries (one a message) and bytes: no
	 * walk. */
	if (qindex_domain_stats(q->env.qi, name, &st) < 0)
		return -1;
	*u_r = (struct quota_usage){0, 0};
	quota_usage_add(u_r, st.entries, st.bytes);
	return 0;
}

/* qmgr_quota_notify - send d the notice its usage u calls for, once */
static void
qmgr_quota_notify(
    struct qmgr *q, const struct domain *d, const struct quota_usage *u)
{
	enum quota_level *v = htable_get(q->quota_notified, d->name), was, send;
	struct dsn_params p;
	char nid[QUEUE_ID_LEN + 1];

	/* Without notify= there is nobody to tell, and nothing to remember. */
	if (d->notify == NULL)
		return;
	if (v == NULL) {
		v = xcalloc(1, sizeof(*v));
		htable_put(q->quota_notified, d->name, v);
	}
	was = *v;
	send = quota_notify_step(d, u, v);
	if (*v == was)
		return;
	if (send == QUOTA_LEVEL_NONE) {
		log_info("quota: domain=%s, messages=%llu, bytes=%llu, notice "
		         "re-armed (%s)",
		    d->name, (unsigned long long)u->messages,
		    (unsigned long long)u->bytes, quota_level_name(*v));
		(void)qmgr_quota_notified_save(q);
		return;
	}
	/*
	 * Saved before the notice is written: a crash between the two loses
	 * a notice, rather than sending it again at every start.
	 */
	if (qmgr_quota_notified_save(q) < 0) {
		*v = was;
		return;
	}
	qmgr_dsn_params(q, &p, d->lifetime);
	if (dsn_create_quota(q->env.qdir, d->name, d->notify,
	        send == QUOTA_LEVEL_FULL, u->messages, d->max_messages,
	        u->bytes, d->max_bytes, &p, nid) < 0) {
		log_warn("quota: domain=%s, to=<%s>: write notice: %s", d->name,
		    d->notify, strerror(errno));
		return;
	}
	log_info("quota: domain=%s, to=<%s>, level=%s, messages=%llu, "
	         "max_messages=%ld, "
	         "bytes=%llu, max_bytes=%ld, notice=%s",
	    d->name, d->notify, quota_level_name(send),
	    (unsigned long long)u->messages, d->max_messages,
	    (unsigned long long)u->bytes, d->max_bytes, nid);
	qmgr_notice_queued(q, nid);
}

/* qmgr_quota_count - count capped domain d again; whether its figures changed
 */
static bool
qmgr_quota_count(struct qmgr *q, const struct domain *d)
{
	struct quota_usage u, old;
	bool had;

	if (qmgr_quota_usage(q, d->name, &u) < 0) {
		log_warn("quota: domain=%s: index walk failed", d->name);
		return false;
	}
	had = quota_file_get(q->quota, d->name, &old);
	quota_file_set(q->quota, d->name, &u);
	qmgr_quota_notify(q, d, &u);
	return !had || old.messages != u.messages || old.bytes != u.bytes;
}

/* qmgr_quota_write - the figures to private/quota for smtpd */
static void
qmgr_quota_write(struct qmgr *q)
{
	if (quota_file_write(q->env.qdir, q->quota, getpid(), time(NULL)) < 0)
		log_warn("write %s/%s: %s; smtpd applies no caps until it is "
		         "written",
		    q->env.qdir, QUOTA_FILE, strerror(errno));
}

struct qmgr_quota_all {
	struct qmgr *q;
	bool changed;
};

static int
qmgr_quota_all_one(const struct domain *d, void *ctx)
{
	struct qmgr_quota_all *a = ctx;

	if (quota_capped(d) && qmgr_quota_count(a->q, d))
		a->changed = true;
	return 0;
}

/* qmgr_quota_refresh - count every capped domain; write the file when anything
 * changed */
static void
qmgr_quota_refresh(struct qmgr *q, bool force)
{
	struct qmgr_quota_all a = {.q = q, .changed = force};

	if (force)
		quota_file_clear(q->quota);
	domain_table_walk(q->cfg->domains, qmgr_quota_all_one, &a);
	if (a.changed)
		qmgr_quota_write(q);
}

static void
qmgr_quota_fire(void *ctx)
{
	struct qmgr *q = ctx;

	qmgr_quota_refresh(q, false);
	(void)ev_timer_add(q->loop, QMGR_QUOTA_REFRESH_MS, qmgr_quota_fire, q);
}

void
qmgr_quota_init(struct qmgr *q)
{
	q->quota = quota_file_new();
	q->quota_notified = htable_new();
	qmgr_quota_notified_load(q);
	qmgr_quota_refresh(q, true);
	(void)ev_timer_add(q->loop, QMGR_QUOTA_REFRESH_MS, qmgr_quota_fire, q);
}

void
qmgr_quota_reload(struct qmgr *q)
{
	/* Caps may have come or gone: the file names exactly the capped
	 * domains. */
	if (q->quota != NULL)
		qmgr_quota_refresh(q, true);
}

struct qmgr_quota_msg {
	struct qmgr *q;
	bool capped;
};

static int
qmgr_quota_msg_one(const struct qindex_entry *e, void *ctx)
{
	struct qmgr_quota_msg *m = ctx;
	const struct domain *d = domain_find(m->q->cfg->domains, e->domain);

	if (quota_capped(d)) {
		m->capped = true;
		(void)qmgr_quota_count(m->q, d);
	}
	return 0;
}

void
qmgr_quota_arrival(struct qmgr *q, const char *id)
{
	struct qmgr_quota_msg m = {.q = q};

	if (q->quota == NULL)
		return;
	if (qindex_walk_message(q->env.qi, id, qmgr_quota_msg_one, &m) < 0)
		log_warn("%s: quota: index walk failed", id);
	if (!m.capped)
		return;
	quota_file_indexed(q->quota, id);
	qmgr_quota_write(q);
}

void
qmgr_quota_changed(struct qmgr *q, const char *domain)
{
	const struct domain *d = domain_find(q->cfg->domains, domain);

	if (q->quota != NULL && quota_capped(d) && qmgr_quota_count(q, d))
		qmgr_quota_write(q);
}

void
qmgr_quota_shutdown(struct qmgr *q)
{
	char *path;

	if (q->quota == NULL)
		return;
	/* No qmgr, no figures: smtpd applies no caps rather than stale ones. */
	path = xasprintf("%s/%s", q->env.qdir, QUOTA_FILE);
	(void)unlink(path);
	free(path);
	quota_file_free(&q->quota);
	htable_free_values(&q->quota_notified, free);
}
