/*
 * NAME
 *	peer - sluice's fleet messenger: pass a customer's trigger to every peer
 * SYNOPSIS
 *	peer [-f] [-v] [-c config_dir]
 * DESCRIPTION
 *	When several sluice hosts serve one customer as its backup MXes
 *	(peers in sluice.conf), the customer should have to signal only
 *	one of them. qmgr(8sluice) hands peer every trigger it accepted from a
 *	customer (ETRN, finger, web login, ATRN login, `sluice queue
 *	flush DOMAIN`) on QUEUE_DIR/private/peer; peer passes it once to
 *	every host in peers: it connects to the peer's SMTP listener,
 *	logs in as the reserved peer login with CRAM-MD5 keyed by the
 *	secret in peer_secret_file, sends ETRN and QUIT. The peer's
 *	smtpd(8sluice) hands that ETRN to its qmgr with source=peer, which is
 *	never passed on again: a trigger crosses the fleet once, with no
 *	storms and no loops.
 *
 *	Each pass runs in a child process of its own, so that a peer that
 *	is down delays nobody else: a try that gets no answer (refused,
 *	timeout, lost, 421) is tried again after peer_retry_delay, then
 *	twice as long after each failure, peer_retry_limit tries in all,
 *	each within peer_timeout. One log line per try that failed and one
 *	for the outcome, in Postfix's shape:
 *
 *	peer: domain=site.example, peer=mx2[127.0.0.3]:25, source=etrn,
 *	    result=253 2.0.0 OK, 2 pending messages for node site.example
 *	    started, try=1/4, delay=0.02
 *	peer: domain=..., result=deferred (connect: Connection refused),
 *	    try=1/4, next=5s
 *	peer: domain=..., result=gave up after 4 tries (connect: ...)
 *
 *	master(8sluice) runs one peer when peers is set. -f logs to stderr; -v
 *	adds debug lines. SIGHUP re-reads the configuration; SIGTERM stops
 *	(passes under way stop with it).
 * SECURITY
 *	peer runs as mail_owner without capabilities. It reads
 *	peer_secret_file (root:mail_owner 0640) and sends only the
 *	HMAC-MD5 of the server's challenge under it, never the secret.
 *	It accepts records from QUEUE_DIR/private/peer (mode 0600, so only
 *	mail_owner's processes) and connects only to the hosts in peers.
 *	Replies are read line by line with a length limit and a deadline.
 * STANDARDS
 *	RFC 5321 (SMTP), RFC 1985 (ETRN), RFC 4954 (AUTH), RFC 2195
 *	(CRAM-MD5).
 * SEE ALSO
 *	master(8sluice), qmgr(8sluice), smtpd(8sluice), sluice(8), sluice.conf(5)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdlib.h>

/* lib/util */
#include "util/log.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon.h"
/* peer */
#include "peer/peer.h"

/* main - options, configuration, then the loop */
int
main(int argc, char **argv)
{
	struct daemon d;
	struct peer_srv *ps;

	daemon_init(&d, "peer", argc, argv, "", NULL, NULL, "");
	ps = peer_srv_new(d.loop, d.cfg);
	log_info("daemon started");
	(void)daemon_run(&d, peer_srv_reload, ps);
	peer_srv_free(&ps);
	daemon_clear(&d);
	return 0;
}
