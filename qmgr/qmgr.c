/*
 * NAME
 *	qmgr - the sluice queue manager
 * SYNOPSIS
 *	qmgr [-f] [-v] [-c config_dir]
 * DESCRIPTION
 *	qmgr is the only writer of the queue index. At start it takes the
 *	index lock, recovers the Berkeley DB environment (or rebuilds it
 *	from msg/ when it will not open), then reconciles index and spool:
 *	every committed message the index does not know is indexed, every
 *	entry whose file is gone is dropped. The files win.
 *
 *	It then serves three sockets (lib/mail/proto.h lists every record):
 *	QUEUE_DIR/private/qmgr, where smtpd reports each committed message
 *	("queued") and etrn, fingerd, web and prober ask to open a domain's
 *	gate ("trigger") or for its status; QUEUE_DIR/public/qmgr, where
 *	the sluice CLI asks for queue listings, summaries, deletions, holds,
 *	bounces, flushes, reindexing and status; and QUEUE_DIR/private/deliver,
 *	where deliver processes (and etrn's ATRN sessions, bound to their
 *	domains) take delivery jobs and report each recipient, and pop3's
 *	sessions hold their maildrop's domains and report what was collected
 *	(qmgr journals it).
 *
 *	A held domain's mail waits behind its gate until a trigger opens it
 *	for a lease; the open gates are saved in QUEUE_DIR/private/gates, so
 *	that a restarted qmgr finishes a release it started.
 *
 *	The messages and bytes of each domain with a cap (max_messages=,
 *	max_bytes=) go to QUEUE_DIR/private/quota for smtpd; the notices
 *	sent to notify= at 80% and when full are remembered in
 *	QUEUE_DIR/private/quota-notified.
 *
 *	SIGHUP re-reads the configuration; SIGTERM closes the index cleanly.
 * SECURITY
 *	qmgr runs as mail_owner without capabilities, started by master(8sluice).
 *	It trusts nothing it reads: queue files, journals, index records
 *	and IPC records all pass the same grammar checks as network input.
 * STANDARDS
 *	None.
 * SEE ALSO
 *	master(8sluice), smtpd(8sluice), sluice(8), sluice.conf(5)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "util/events.h"
#include "util/log.h"
#include "mail/conf.h"
#include "mail/daemon.h"
#include "qmgr/qmgr.h"

int
main(int argc, char **argv)
{
	struct qmgr q = { .lock_fd = -1 };
	struct daemon d;

	daemon_init(&d, "qmgr", argc, argv, "", NULL, NULL, "");
	q.config_dir = d.config_dir != NULL ? d.config_dir : config_default_dir();
	q.foreground = d.foreground;
	q.loop = d.loop;
	q.cfg = d.cfg;
	qmgr_init(&q);
	(void)daemon_run(&d, qmgr_reload, &q);
	/* Removals still waiting for their directory's fsync: one last try. */
	qmgr_sync_flush(&q);
	ev_timer_cancel(q.loop, &q.sync_timer);
	qmgr_shutdown(&q);
	daemon_clear(&d);
	return 0;
}
