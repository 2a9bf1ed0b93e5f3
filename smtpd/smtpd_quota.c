/*
 * smtpd_quota - per-domain caps at RCPT and at the end of DATA
 *
 * What a capped domain holds comes from qmgr's private/quota
 * (mail/quota.h), read again whenever it changed; never a question to
 * qmgr in the event loop. To it smtpd adds what the file cannot show
 * yet: the open transactions of this process that have a recipient in
 * the domain (one message and the declared SIZE each), and the messages
 * it committed that the file does not name as indexed (for at most
 * SMTPD_QUOTA_PENDING_MAX seconds). So a burst through one smtpd
 * process stops at the cap; with several processes, each may accept as
 * many more as it has transactions open at once.
 *
 * No file, or one whose qmgr is gone: qmgr is not running, and nothing
 * is refused for quota (logged once).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* lib/util */
#include "util/htable.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/domains.h"
#include "mail/quota.h"
#include "mail/smtp_reply.h"
/* smtpd */
#include "smtpd/smtpd.h"

/* How long a committed message counts locally when qmgr never names it. */
#define SMTPD_QUOTA_PENDING_MAX 60

/* A message this process committed for a capped domain, not yet in the file. */
struct smtpd_quota_pending {
	char id[QUEUE_ID_LEN + 1];
	char *domain;
	uint64_t bytes;
	time_t at;
	struct smtpd_quota_pending *next;
};

struct smtpd_quota {
	struct quota_file *file; /* NULL: none read (qmgr not running) */
	struct timespec mtime;
	ino_t ino;
	bool down_logged; /* "qmgr not running" said once */
	/* The last file found unreadable, so that it is read and logged once.
	 */
	struct timespec bad_mtime;
	ino_t bad_ino;
	bool bad;
	struct htable
	    *open; /* domain -> struct quota_usage of open transactions */
	struct smtpd_quota_pending *pending;
};

/* smtpd_quota_prune - forget committed messages the file counts now, or too old
 */
static void
smtpd_quota_prune(struct smtpd_quota *qs, time_t now)
{
	struct smtpd_quota_pending **pp = &qs->pending, *p;

	while ((p = *pp) != NULL) {
		if ((qs->file != NULL &&
		        quota_file_has_indexed(qs->file, p->id)) ||
		    now - p->at > SMTPD_QUOTA_PENDING_MAX) {
			*pp = p->next;
			free(p->domain);
			free(p);
		} else
			pp = &p->next;
	}
}

/* smtpd_quota_same_time - are two modification times the same? */
static bool
smtpd_quota_same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/*
 * smtpd_quota_fresh - read private/quota again if it changed; whether
 * caps apply now (a file from a running qmgr)
 */
static bool
smtpd_quota_fresh(struct smtpd *srv)
{
	struct smtpd_quota *qs = srv->quota;
	char *path = xasprintf("%s/%s", srv->cfg->queue_directory, QUOTA_FILE),
	     *err = NULL;
	struct quota_file *f = NULL;
	const char *down = NULL;
	struct stat sb;
	int r;

	/* lstat: a symbolic link is itself the bad file, not its target. */
	if (lstat(path, &sb) < 0) {
		quota_file_free(&qs->file);
		down =
		    errno == ENOENT ? "qmgr is not running" : strerror(errno);
	} else if (qs->bad && sb.st_ino == qs->bad_ino &&
	           smtpd_quota_same_time(&sb.st_mtim, &qs->bad_mtime)) {
		/* Read and logged already: wait for qmgr's next one. */
		down = "its figures are unreadable";
	} else if (qs->file == NULL || sb.st_ino != qs->ino ||
	           !smtpd_quota_same_time(&sb.st_mtim, &qs->mtime)) {
		r = quota_file_read(srv->cfg->queue_directory, &f, &err);
		qs->bad = r < 0;
		if (r == 1) {
			quota_file_free(&qs->file);
			qs->file = f;
			qs->ino = sb.st_ino;
			qs->mtime = sb.st_mtim;
		} else if (r < 0) {
			log_warn("read %s: %s; qmgr replaces it at its next "
			         "count",
			    path, err != NULL ? err : strerror(errno));
			qs->bad_ino = sb.st_ino;
			qs->bad_mtime = sb.st_mtim;
			down = "its figures are unreadable";
		}
		free(err);
	}
	/* A file left behind by a qmgr that died: no figures to trust. */
	if (down == NULL && qs->file != NULL &&
	    kill(quota_file_pid(qs->file), 0) < 0 && errno == ESRCH) {
		down = "qmgr is not running";
		quota_file_free(&qs->file);
	}
	if (down == NULL && qs->file == NULL)
		down = "qmgr has not counted yet";
	if (down != NULL && !qs->down_logged)
		log_warn("per-domain caps (max_messages, max_bytes) not "
		         "applied: %s (%s)",
		    down, path);
	qs->down_logged = down != NULL;
	free(path);
	smtpd_quota_prune(qs, time(NULL));
	return down == NULL;
}

/* smtpd_quota_usage - what d holds as far as this process knows */
static void
smtpd_quota_usage(
    const struct smtpd_quota *qs, const char *name, struct quota_usage *u)
{
	const struct quota_usage *o = htable_get(qs->open, name);
	const struct smtpd_quota_pending *p;

	if (!quota_file_get(qs->file, name, u))
		u->messages = u->bytes = 0;
	if (o != NULL)
		quota_usage_add(u, o->messages, o->bytes);
	for (p = qs->pending; p != NULL; p = p->next)
		if (strcmp(p->domain, name) == 0)
			quota_usage_add(u, 1, p->bytes);
}

/* smtpd_quota_has - does the transaction count against domain name already? */
static bool
smtpd_quota_has(const struct smtpd_session *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->quota_ndoms; i++)
		if (strcmp(s->quota_doms[i], name) == 0)
			return true;
	return false;
}

int
smtpd_quota_rcpt(
    struct smtpd_session *s, const struct domain *d, const char *rcpt)
{
	struct smtpd_quota *qs = s->srv->quota;
	struct quota_usage u, *o;
	enum quota_verdict v;
	char why[256];

	/* One message per domain: a second recipient there adds nothing. */
	if (!quota_capped(d) || smtpd_quota_has(s, d->name) ||
	    !smtpd_quota_fresh(s->srv))
		return 0;
	smtpd_quota_usage(qs, d->name, &u);
	v = quota_check(d, &u, s->mail_size);
	if (v != QUOTA_OK) {
		quota_reason(d, &u, v, why, sizeof(why));
		smtpd_reply(s, SMTP_R_QUOTA_RCPT, rcpt, why);
		return -1;
	}
	if ((o = htable_get(qs->open, d->name)) == NULL) {
		o = xcalloc(1, sizeof(*o));
		htable_put(qs->open, d->name, o);
	}
	quota_usage_add(o, 1, s->mail_size);
	s->quota_doms = xreallocarray(
	    s->quota_doms, s->quota_ndoms + 1, sizeof(*s->quota_doms));
	s->quota_doms[s->quota_ndoms++] = xstrdup(d->name);
	return 0;
}

int
smtpd_quota_data_end(struct smtpd_session *s, uint64_t size)
{
	struct smtpd_quota *qs = s->srv->quota;
	const struct domain *d;
	struct quota_usage u;
	char why[256];
	size_t i;

	if (s->quota_ndoms == 0 || !smtpd_quota_fresh(s->srv))
		return 0;
	for (i = 0; i < s->quota_ndoms; i++) {
		d = domain_find(s->srv->cfg->domains, s->quota_doms[i]);
		if (!quota_capped(d))
			continue;
		smtpd_quota_usage(qs, d->name, &u);
		/* Without this transaction's own share, and its message counted
		 * at RCPT. */
		u.messages = 0;
		u.bytes -= u.bytes >= s->mail_size ? s->mail_size : u.bytes;
		if (quota_check(d, &u, size) == QUOTA_BYTES) {
			quota_reason(d, &u, QUOTA_BYTES, why, sizeof(why));
			smtpd_reply(s, SMTP_R_QUOTA_DATA, why);
			return -1;
		}
	}
	return 0;
}

void
smtpd_quota_committed(struct smtpd_session *s, const char *id, uint64_t size)
{
	struct smtpd_quota *qs = s->srv->quota;
	struct smtpd_quota_pending *p;
	size_t i;

	for (i = 0; i < s->quota_ndoms; i++) {
		p = xcalloc(1, sizeof(*p));
		snprintf(p->id, sizeof(p->id), "%s", id);
		p->domain = xstrdup(s->quota_doms[i]);
		p->bytes = size;
		p->at = time(NULL);
		p->next = qs->pending;
		qs->pending = p;
	}
}

void
smtpd_quota_release(struct smtpd_session *s)
{
	struct quota_usage *o;
	size_t i;

	for (i = 0; i < s->quota_ndoms; i++) {
		o = htable_get(s->srv->quota->open, s->quota_doms[i]);
		if (o != NULL) {
			o->messages -= o->messages > 0 ? 1 : 0;
			o->bytes -=
			    o->bytes >= s->mail_size ? s->mail_size : o->bytes;
			if (o->messages == 0)
				free(htable_del(
				    s->srv->quota->open, s->quota_doms[i]));
		}
		free(s->quota_doms[i]);
	}
	xfree(&s->quota_doms);
	s->quota_ndoms = 0;
}

void
smtpd_quota_setup(struct smtpd *srv)
{
	srv->quota = xcalloc(1, sizeof(*srv->quota));
	srv->quota->open = htable_new();
}

void
smtpd_quota_clear(struct smtpd *srv)
{
	struct smtpd_quota_pending *p;

	if (srv->quota == NULL)
		return;
	while ((p = srv->quota->pending) != NULL) {
		srv->quota->pending = p->next;
		free(p->domain);
		free(p);
	}
	quota_file_free(&srv->quota->file);
	htable_free_values(&srv->quota->open, free);
	xfree(&srv->quota);
}
