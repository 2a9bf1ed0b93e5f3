/*
 * qmgr_auth - who may do what on the control socket (public/qmgr).
 *
 * The socket is open to every local user (mode 0666 in a 0711 directory),
 * so that a refusal is an answer with a reason rather than a bare EACCES;
 * the decision is made here, on the kernel's word about the caller
 * (SO_PEERCRED), for each connection and each request. A request record
 * can name no user: nothing the client sends counts.
 *
 * Every request on it is an operator's (the table below). Allowed: root,
 * mail_owner (and qmgr's own uid, the same user unless a developer runs
 * sluice without root), and members of operator_group (its gid as primary
 * group, or listed in the group). Group membership is
 * looked up at each request, so a change to /etc/group needs no reload.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/proto.h"
#include "qmgr/qmgr.h"

/*
 * What each request does, for the refusal. Every one is an operator
 * request: listing shows senders and recipients, the summary names the
 * customers, status is what "postfix status" leaves to root, and the rest
 * change the queue. A type not listed is refused the same way.
 */
static const struct {
	const char *type;
	const char *what;
} qmgr_auth_table[] = {
	{ PROTO_T_LIST, "list the queue" },
	{ PROTO_T_SUMMARY, "summarize the queue" },
	{ PROTO_T_STATUS, "ask for qmgr's status" },
	{ PROTO_T_DELETE, "delete mail" },
	{ PROTO_T_HOLD, "hold mail" },
	{ PROTO_T_RELEASE, "release mail" },
	{ PROTO_T_BOUNCE, "bounce mail" },
	{ PROTO_T_REQUEUE, "requeue mail" },
	{ PROTO_T_FLUSH, "flush a domain" },
	{ PROTO_T_REINDEX, "rebuild the index" },
};

static const char *
qmgr_auth_what(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(qmgr_auth_table) / sizeof(qmgr_auth_table[0]); i++)
		if (strcmp(qmgr_auth_table[i].type, type) == 0)
			return qmgr_auth_table[i].what;
	return "make this request";
}

/* qmgr_auth_in_group - is uid (primary group gid) in operator_group? */
static bool
qmgr_auth_in_group(const struct qmgr *q, uid_t uid, gid_t gid)
{
	const char *name = q->cfg->operator_group;
	struct passwd *pw;
	struct group *gr;
	size_t i;

	if (name[0] == '\0')
		return false;
	errno = 0;
	if ((gr = getgrnam(name)) == NULL) {
		log_warn("look up operator_group %s: %s", name,
		    errno != 0 ? strerror(errno) : "no such group; create it or fix operator_group");
		return false;
	}
	if (gr->gr_gid == gid)
		return true;
	if ((pw = getpwuid(uid)) == NULL)
		return false;
	if (pw->pw_gid == gr->gr_gid)
		return true;
	/* getgrnam's buffer is still ours: getpwuid uses its own. */
	for (i = 0; gr->gr_mem != NULL && gr->gr_mem[i] != NULL; i++)
		if (strcmp(gr->gr_mem[i], pw->pw_name) == 0)
			return true;
	return false;
}

/* qmgr_auth_operator - root, mail_owner, us, or in operator_group? */
static bool
qmgr_auth_operator(const struct qmgr *q, uid_t uid, gid_t gid)
{
	struct passwd *pw;

	if (uid == 0 || uid == geteuid())
		return true;
	if ((pw = getpwnam(q->cfg->mail_owner)) != NULL && pw->pw_uid == uid)
		return true;
	return qmgr_auth_in_group(q, uid, gid);
}

char *
qmgr_auth_check(const struct qmgr *q, int fd, const char *type, long *uid_r)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	*uid_r = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred)) {
		log_warn("refuse %s request: cannot tell who is calling (SO_PEERCRED): %s",
		    type, strerror(errno));
		return xstrdup("permission denied: qmgr cannot tell who is calling");
	}
	*uid_r = (long)cred.uid;
	if (qmgr_auth_operator(q, cred.uid, cred.gid))
		return NULL;
	log_warn("refuse %s request from uid=%ld, pid=%ld: not root, mail_owner %s or in "
	    "operator_group%s%s", type, (long)cred.uid, (long)cred.pid, q->cfg->mail_owner,
	    q->cfg->operator_group[0] != '\0' ? " " : " (not set)", q->cfg->operator_group);
	if (q->cfg->operator_group[0] == '\0')
		return xasprintf("permission denied: uid %ld may not %s: it is not root or "
		    "mail_owner %s (operator_group is not set)", (long)cred.uid,
		    qmgr_auth_what(type), q->cfg->mail_owner);
	return xasprintf("permission denied: uid %ld may not %s: it is not root, mail_owner %s "
	    "or in operator_group %s", (long)cred.uid, qmgr_auth_what(type),
	    q->cfg->mail_owner, q->cfg->operator_group);
}
