/*
 * dsn - delivery status notifications: bounces, delay notices, success
 * reports (RFC 3464 message/delivery-status inside an RFC 6522
 * multipart/report, honouring the RFC 3461 NOTIFY, RET, ENVID and ORCPT
 * of the original message), and the daily per-domain customer notice.
 *
 * A notice is a new message with the null sender, written into the queue
 * through the same durable path as received mail (queue_file_create,
 * queue_file_write, queue_file_commit). Its one recipient carries
 * NOTIFY=NEVER, so that a notice can never cause another notice. The
 * caller then tells qmgr about the new ID, as smtpd does for received
 * mail. These functions log the Postfix-shaped line "ORIGID: sender
 * non-delivery notification: NEWID" themselves, and a warning on failure.
 *
 * The notice reads:
 *
 *	From: Mail Delivery System <MAILER-DAEMON@reporting_mta>
 *	To: <original sender>
 *	Subject, Date, Message-ID, Auto-Submitted: auto-replied, MIME-Version
 *	Content-Type: multipart/report; report-type=delivery-status;
 *	part 1  text/plain: who, why, and for delays until when we retry
 *	part 2  message/delivery-status (RFC 3464)
 *	part 3  message/rfc822 (RET=FULL, content up to DSN_FULL_MAX, and the
 *	        notice reports a failure) or text/rfc822-headers (otherwise)
 *
 * Every line ends in CRLF and none is longer than 998 octets, whatever the
 * original message held.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_DSN_H
#define SLUICE_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mail/queue.h"

/* Above this many content octets, RET=FULL returns the headers only. */
#define DSN_FULL_MAX		(10u * 1024 * 1024)
/* Original headers beyond this many octets are cut off in a notice. */
#define DSN_HEADERS_MAX		(1024u * 1024)

enum dsn_action {
	DSN_ACTION_FAILED,
	DSN_ACTION_DELAYED,
	DSN_ACTION_DELIVERED,
	DSN_ACTION_EXPANDED,
};

/* One recipient to report on; every pointer is borrowed. */
struct dsn_rcpt {
	const char *addr;	/* the envelope recipient */
	const char *orcpt;	/* ORCPT as stored ("rfc822;xtext"), or NULL */
	unsigned notify;	/* DSN_NOTIFY_* bits of that recipient */
	enum dsn_action action;
	const char *status;	/* "5.1.1"; NULL: x.0.0 of the action's class */
	const char *remote_mta;	/* host name of the remote MTA, or NULL */
	const char *diagnostic;	/* "smtp; 550 5.1.1 ..." (type added if missing), or NULL */
	time_t last_attempt;	/* 0: none */
};

struct dsn_params {
	const char *reporting_mta;	/* myhostname */
	const char *postmaster;		/* From: address; NULL: MAILER-DAEMON@reporting_mta */
	/*
	 * Where the notice goes: NULL means the original sender. Set it (for
	 * example to the postmaster, for null-sender mail that failed) to
	 * report every recipient given, whatever its NOTIFY and the sender.
	 */
	const char *recipient;
	time_t now;			/* 0: time(NULL) */
	long lifetime;			/* seconds the queue keeps trying (delays) */
};

/*
 * dsn_needed - should a recipient with these NOTIFY bits get a notice of
 * this action, for mail from orig_sender? Never for the null sender ""
 * (nothing is ever sent to <>) or NOTIFY=NEVER. An absent NOTIFY (0)
 * means FAILURE,DELAY, which RFC 3461 4.1 allows: our customers' mail
 * waits for days, and a sender should hear about that before the bounce.
 * SUCCESS covers both "delivered" and "expanded".
 */
bool dsn_needed(const char *orig_sender, unsigned notify, enum dsn_action action);

/*
 * dsn_create - write a notice about rcpts[0..n-1] of the queued message
 * orig_id (envelope orig) into qdir. Recipients for whom dsn_needed() is
 * false are left out. Returns 0 with the new queue ID in id_r, 1 when no
 * notice is due (null sender, NOTIFY=NEVER, nobody left), -1 with errno
 * (ENOENT/EBADMSG: the original is gone or corrupt; ENOSPC...). The
 * original message must still be in the queue: its content is attached.
 */
int dsn_create(const char *qdir, const char *orig_id, const struct envelope *orig,
    const struct dsn_rcpt *rcpts, size_t n, const struct dsn_params *p,
    char id_r[QUEUE_ID_LEN + 1]);

/*
 * dsn_create_notify - the daily notice to a customer's notify= address:
 * nexpiring of the nqueued messages held for domain will be returned to
 * their senders within the next 24 hours. A plain text message from the
 * postmaster with the null envelope sender. 0 with id_r, 1 when nexpiring
 * is 0 (nothing to say), -1 with errno.
 */
int dsn_create_notify(const char *qdir, const char *domain, const char *to,
    size_t nexpiring, size_t nqueued, const struct dsn_params *p,
    char id_r[QUEUE_ID_LEN + 1]);

/*
 * dsn_create_quota - the notice to a customer's notify= address that
 * domain has passed 80% of a cap (full false) or is full (quota.h): what
 * it holds against max_messages and max_bytes (0: no cap). A plain text
 * message from the postmaster with the null envelope sender. 0 with
 * id_r, -1 with errno.
 */
int dsn_create_quota(const char *qdir, const char *domain, const char *to, bool full,
    unsigned long long messages, long max_messages, unsigned long long bytes,
    long max_bytes, const struct dsn_params *p, char id_r[QUEUE_ID_LEN + 1]);

#endif
