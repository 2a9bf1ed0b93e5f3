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
 *	It then serves two sockets: QUEUE_DIR/private/qmgr, where smtpd
 *	reports each committed message ("queued"), and QUEUE_DIR/public/qmgr,
 *	where the sluice CLI asks for queue listings, summaries, deletions
 *	and reindexing (lib/mail/proto.h lists every record).
 *
 *	SIGHUP re-reads the configuration; SIGTERM closes the index cleanly.
 * SECURITY
 *	qmgr runs as mail_owner without capabilities, started by master(8).
 *	It trusts nothing it reads: queue files, journals, index records
 *	and IPC records all pass the same grammar checks as network input.
 * STANDARDS
 *	None.
 * SEE ALSO
 *	master(8), smtpd(8), sluice(8), sluice.conf(5)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "util/log.h"
#include "mail/config.h"
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
	qmgr_shutdown(&q);
	daemon_free(&d);
	return 0;
}
