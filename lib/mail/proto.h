/*
 * proto - every record type exchanged between sluice's processes.
 *
 * Records use the grammar of util/ipc.h (name=value lines, first field
 * "type"). Receivers bound-check every field they use and drop a peer
 * that sends a malformed record, with a warning.
 *
 * smtpd -> qmgr, on QUEUE_DIR/private/qmgr (no reply):
 *	type=queued id=ID
 *		a message was committed to msg/; qmgr indexes it now.
 *
 * sluice CLI -> qmgr, on QUEUE_DIR/public/qmgr; one request, then
 * replies until type=end:
 *	type=list [domain=D]       -> type=entry id= domain= sender= size= arrival=
 *	                              next_try= expiry= attempts= flags= nrcpt=
 *	                              rcpt= (repeated) error= GATE
 *	                              (one per message and destination domain, in
 *	                              queue ID order: a message's entries follow
 *	                              each other)
 *	type=summary               -> type=domain domain= messages= bytes= oldest=
 *	                              b5= b10= b20= b40= b80= b160= b320= b640= b1280=
 *	                              b1280p= GATE [home=HOST:PORT]
 *	                              [max_messages=N] [max_bytes=N] (the
 *	                              domain's caps, mail/quota.h)
 *	                              (qshape age buckets: b5 counts entries younger
 *	                              than 5 minutes, b10 those of 5 to 10, ...,
 *	                              b1280p those of 1280 minutes and older)
 *	                           -> type=total messages= bytes= oldest= b5= ... b1280p=
 *	                              (last: the whole queue, a message for two
 *	                              domains counted once)
 *	    GATE is gate=held|open|backup|relay [open_until=EPOCH]
 *	         [opened_by=SOURCE] [reason=TEXT]: the state (without a
 *	         running qmgr, the domain's mode; relay for mail to no domain
 *	         of the table), when an open gate's lease ends, which trigger
 *	         opened it, and a short reason ("ATRN session", "probing")
 *	type=delete id=ID (repeated) | domain=D [id=ID (repeated)] | all=1
 *	                           -> type=deleted id=ID (per message removed, or
 *	                              whose recipients in D were removed; with
 *	                              domain= and id=, only those messages)
 *	                              type=missing id=ID (no such message)
 *	type=hold|release|bounce|requeue id=ID (repeated) | domain=D | all=1
 *	                           -> type=acted id=ID (per message acted on)
 *	                              type=missing id=ID (no such message)
 *	                              type=skipped id=ID reason=TEXT (hold: already
 *	                              on hold; release: not on hold)
 *	type=flush domain=D | all=1
 *	                           -> type=triggered (as for triggers, below)
 *	type=reindex               -> type=reindexed messages=N
 *	type=status                -> type=status pid= queue_directory= entries=
 *	                              messages= held= (messages with an entry on
 *	                              operator hold, "sluice queue hold")
 *	                              [timers= gates_open=] (qmgr only: its pending
 *	                              timers, which must not grow with the mail it
 *	                              has handled, and the domains whose gate is
 *	                              open now; master(8sluice) shows them to systemd)
 *	                              [reconciling=N%] (qmgr only: its start-up
 *	                              reconcile of the index with msg/ is under way)
 *	all replies end with:         type=end status=ok|error|denied [reason=TEXT]
 *	                              (denied: the caller may not make this request,
 *	                              qmgr's SO_PEERCRED check; reason says who may;
 *	                              ok with a reason: a note for the operator, as
 *	                              qmgr's while it reconciles its index)
 *
 * deliver <-> qmgr, on QUEUE_DIR/private/deliver (deliver connects; there
 * may be several deliver processes, each with its own connection):
 *	deliver: type=hello slots=N
 *		on connect: how many jobs it will run at once.
 *	qmgr:    type=job job=N id=ID domain=D sender=S size=BYTES
 *	         route=[host]:port|mx tls=may|encrypt|verify
 *	         rcpt=ADDR idx=I ...  (pairs, repeated; I = the recipient's
 *	                               index in the queue file envelope)
 *		deliver message ID to these recipients of domain D.
 *	deliver: type=rcpt job=N idx=I status=sent|deferred|bounced dsn=X.Y.Z
 *	         relay=NAME[ADDR]:PORT reply=TEXT
 *		one per recipient. For status=sent, deliver has already
 *		appended JOURNAL_DONE to ID.j (fsync'd) before sending this,
 *		unless the job ends with complete=1 (below).
 *	deliver: type=done job=N [conn_error=TEXT] [complete=1]
 *		the job is over; every recipient had its type=rcpt. With
 *		conn_error the connection itself failed (refused, timeout,
 *		TLS failure, no route): qmgr closes the domain's gate.
 *		With complete=1 the job finished the whole message: every
 *		recipient the queue file and journal left pending was in
 *		this job's one transaction and got a 2xx, and none of those
 *		was journalled; qmgr removes the message (or, if it does not
 *		agree, journals the sent recipients itself).
 *
 * smtpd (ETRN), fingerd, web and prober -> qmgr, on QUEUE_DIR/private/qmgr,
 * one request and one reply (the CLI's flush reaches the same code inside
 * qmgr with source=cli):
 *	type=trigger domain=D|group=G source=etrn|finger|web|probe|cli|peer
 *	             [client=ADDR] [user=LOGIN] [subdomains=1]
 *	-> type=triggered status=ok|none|denied|unknown|busy|error
 *	             pending=N domains=N [reason=TEXT]
 *		release D (or every domain of group G, or D and its
 *		subdomains) because SOURCE said so: authorised, rate-limited,
 *		logged, and the gate opened for the domain's lease.
 *		status=none: authorised, gate opened, but no mail waits.
 *
 *	type=domainstatus domain=D [source=SOURCE policy=1 [client=ADDR]]
 *	-> type=domainstatus status=ok domain=D pending=N bytes=N
 *	             oldest=EPOCH|0 next_expiry=EPOCH|0 gate=held|open
 *	             open_until=EPOCH|0 opened_by=SOURCE|"" delivered=N
 *	             in_flight=N finished=EPOCH|0 failing_at=EPOCH|0
 *	             next_probe=EPOCH|0 [failing=TEXT]
 *	             sent=N next_try=EPOCH|0 max_messages=N|0 max_bytes=N|0
 *	             [route=[ADDR]:PORT] (route=client: where the lease's
 *	             authenticated trigger points the mail now)
 *	   or type=domainstatus status=unknown domain=D, or status=error
 *		what the web page and fingerd show (delivered: recipients
 *		sent since the gate last opened; in_flight: jobs at a
 *		deliver process; finished: when the last job of the open
 *		gate ended with nothing left, 0 while mail waits or is in
 *		flight; failing: the domain's last connection failure,
 *		"cannot reach ADDR:PORT: why" or "cannot deliver: REPLY"
 *		when the site deferred every recipient, at failing_at, cleared by a
 *		delivery; next_probe: when the prober looks next; sent:
 *		recipients sent since qmgr started, never reset, so that a
 *		web session counts its own from where it began; next_try:
 *		when qmgr retries the domain by itself, 0 none;
 *		max_messages, max_bytes: the domain's caps, 0 none,
 *		against pending and bytes, mail/quota.h). With
 *		policy=1 a domain that SOURCE (from client) may not release
 *		is answered status=unknown, as a domain not in the table:
 *		fingerd's report-only query shows no more than a trigger.
 *
 *	type=gateclose domain=D source=web|atrn|cli client=ADDR [user=LOGIN]
 *	-> type=gateclosed status=ok|denied|unknown [reason=TEXT]
 *		close the gate now (web logout); same authorisation as a trigger.
 *
 *	type=probelist
 *	-> type=probe domain=D pending=N arrivals=N  (one per held domain
 *	   whose gate is closed, that has mail and probe= set; arrivals
 *	   counts the messages qmgr indexed for D since it started, so the
 *	   prober sees new mail), then type=end status=ok
 *
 *	prober: type=probed domain=D next_probe=EPOCH
 *	-> type=end status=ok|unknown
 *		when the prober will look at D next (shown by domainstatus).
 *
 * ATRN (etrn/) sessions register as deliver agents bound to domains:
 *	etrn:    type=hello slots=1 bind=D1,D2,... user=LOGIN
 *		qmgr opens those domains' gates (source=atrn) for as long
 *		as this connection lasts and sends their jobs only to it;
 *		when it closes, the gates close. A successful bind has no
 *		reply of its own: the first type=job, or type=idle, is the
 *		answer. A domain already bound to another session gets
 *		type=busy domain=D reason=TEXT and the connection is closed.
 *	qmgr:    type=idle
 *		nothing is left for the bound domains (no queued job, none
 *		at the session); sent again after new jobs were sent and done.
 *
 * POP3 (pop3/) sessions register as maildrop agents bound to domains:
 *	pop3:    type=hello slots=1 bind=D1,D2,... user=LOGIN maildrop=1
 *		qmgr binds those domains to this connection without opening
 *		their gates: while it lasts no job of theirs goes to any
 *		agent (ETRN, finger, web, prober and flush open the gate,
 *		and the jobs wait), an ATRN or a second POP3 login gets
 *		type=busy. A domain with a job at a deliver process is busy
 *		too. The answer is type=idle (bound), or type=busy domain=D
 *		reason=TEXT and the connection is closed. When it closes,
 *		the domains are free and their jobs go out if a gate is open.
 *	pop3:    type=collect id=ID idx=I
 *		recipient I of message ID, of a bound domain, was collected
 *		(DELE, then QUIT): qmgr appends JOURNAL_DONE to ID.j
 *		(fsync'd), logs "ID: to=<r>, relay=pop3, ..., status=sent",
 *		and rewrites the index from the journal.
 *	-> type=collected status=ok|unknown|error [reason=TEXT]
 *		ok: journalled now; unknown: no such message or recipient
 *		pending (expired, deleted by the operator); error: not
 *		journalled, the mail stays.
 *
 * qmgr -> peer(8sluice), on QUEUE_DIR/private/peer (no reply; best effort,
 * never blocking qmgr):
 *	type=trigger domain=D|group=G [subdomains=1]
 *	             source=etrn|finger|web|atrn|cli
 *		a trigger qmgr accepted from a customer: pass it once to
 *		every host in peers (as ETRN after the peer login,
 *		mail/peer.h), retrying a peer that is down a few times.
 *		Triggers with source=peer or probe are never sent here.
 *	type=trigger all=1 source=cli
 *		the operator's `sluice flush --all`: passed once to every
 *		peer as "ETRN #*" (PROTO_PEER_ETRN_ALL) after the peer
 *		login. The receiving smtpd accepts "#*" only in a peer
 *		login (501 otherwise) and asks its qmgr with
 *		type=trigger all=1 source=peer, which flushes every domain
 *		as its own operator's flush --all would and passes it no
 *		further. qmgr refuses all=1 from any other source.
 *
 * web -> qmgr, on QUEUE_DIR/private/qmgr: a logged-in customer's own
 * held mail (web(8sluice)). qmgr checks that user is the owner= of
 * domain in the domains table, whatever the web says:
 *	type=heldlist domain=D user=LOGIN [after=ID | before=ID] limit=N
 *	-> type=held id=ID domain=D sender=S size=BYTES arrival=EPOCH
 *	             expiry=EPOCH nrcpt=N [subject=RAW]
 *	   (at most N <= PROTO_HELD_PAGE_MAX, in queue ID order, starting
 *	   after ID; with before=, the N before ID, nearest first: one page
 *	   of D's mail from the by_domain index, and the Subject from the
 *	   first bytes of each queue file only),
 *	   then type=end status=ok|denied|unknown|error [reason=TEXT]
 *	type=heldact id=ID domain=D user=LOGIN client=ADDR action=delete|bounce
 *	-> type=heldacted status=ok|unknown|denied|error [reason=TEXT]
 *		delete (journalled as deleted) or return to the sender (a
 *		DSN, as `sluice queue bounce`) the recipients of message ID
 *		in D, and only those: the message's other recipients are
 *		left as they are. status=unknown: no recipient of ID in D
 *		is pending. Logged by qmgr as the operator's actions are,
 *		naming the customer.
 *
 * Every field name and every word a field carries is named below
 * (PROTO_F_*, enum proto_status/source/gate/result with their tables in
 * proto_rec.c); lib/mail/proto_rec.h encodes and decodes each record of
 * the qmgr trigger family and the agent protocol, refusing unknown fields.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_PROTO_H
#define SLUICE_PROTO_H

#include <stdbool.h>

struct ipc_rec;

#define PROTO_QMGR_PRIVATE	"private/qmgr"
#define PROTO_QMGR_PUBLIC	"public/qmgr"

#define PROTO_T_QUEUED		"queued"
#define PROTO_T_LIST		"list"
#define PROTO_T_ENTRY		"entry"
#define PROTO_T_SUMMARY		"summary"
#define PROTO_T_DOMAIN		"domain"
#define PROTO_T_DELETE		"delete"
#define PROTO_T_DELETED		"deleted"
#define PROTO_T_REINDEX		"reindex"
#define PROTO_T_REINDEXED	"reindexed"
#define PROTO_T_STATUS		"status"
#define PROTO_T_END		"end"
#define PROTO_T_HOLD		"hold"
#define PROTO_T_RELEASE		"release"
#define PROTO_T_BOUNCE		"bounce"
#define PROTO_T_REQUEUE		"requeue"
#define PROTO_T_FLUSH		"flush"
#define PROTO_T_ACTED		"acted"

#define PROTO_DELIVER_PRIVATE	"private/deliver"
#define PROTO_PEER_PRIVATE	"private/peer"
#define PROTO_T_HELLO		"hello"
#define PROTO_T_JOB		"job"
#define PROTO_T_RCPT		"rcpt"
#define PROTO_T_DONE		"done"
#define PROTO_T_TRIGGER		"trigger"
#define PROTO_T_TRIGGERED	"triggered"
#define PROTO_T_DOMAINSTATUS	"domainstatus"
#define PROTO_T_GATECLOSE	"gateclose"
#define PROTO_T_GATECLOSED	"gateclosed"
#define PROTO_T_PROBELIST	"probelist"
#define PROTO_T_PROBE		"probe"
#define PROTO_T_BUSY		"busy"
#define PROTO_T_IDLE		"idle"
#define PROTO_T_MISSING		"missing"
#define PROTO_T_SKIPPED		"skipped"
#define PROTO_T_TOTAL		"total"
#define PROTO_T_PROBED		"probed"
#define PROTO_T_COLLECT		"collect"
#define PROTO_T_COLLECTED	"collected"
/* web -> qmgr: the customer's list of held mail, and its actions (issue 11) */
#define PROTO_T_HELDLIST	"heldlist"
#define PROTO_T_HELD		"held"
#define PROTO_T_HELDACT		"heldact"
#define PROTO_T_HELDACTED	"heldacted"

/* Field names (Postfix's MAIL_ATTR_*): every name= any record carries. */
#define PROTO_F_TYPE		"type"
#define PROTO_F_ID		"id"
#define PROTO_F_DOMAIN		"domain"
#define PROTO_F_GROUP		"group"
#define PROTO_F_SUBDOMAINS	"subdomains"
#define PROTO_F_SOURCE		"source"
#define PROTO_F_CLIENT		"client"
#define PROTO_F_USER		"user"
#define PROTO_F_STATUS		"status"
#define PROTO_F_REASON		"reason"
#define PROTO_F_PENDING		"pending"
#define PROTO_F_DOMAINS		"domains"
#define PROTO_F_BYTES		"bytes"
#define PROTO_F_OLDEST		"oldest"
#define PROTO_F_NEXT_EXPIRY	"next_expiry"
#define PROTO_F_GATE		"gate"
#define PROTO_F_OPEN_UNTIL	"open_until"
#define PROTO_F_OPENED_BY	"opened_by"
#define PROTO_F_DELIVERED	"delivered"
#define PROTO_F_SENT		"sent"
#define PROTO_F_SLOTS		"slots"
#define PROTO_F_BIND		"bind"
#define PROTO_F_JOB		"job"
#define PROTO_F_SENDER		"sender"
#define PROTO_F_SIZE		"size"
#define PROTO_F_ROUTE		"route"
#define PROTO_F_TLS		"tls"
#define PROTO_F_RCPT		"rcpt"
#define PROTO_F_IDX		"idx"
#define PROTO_F_DSN		"dsn"
#define PROTO_F_RELAY		"relay"
#define PROTO_F_REPLY		"reply"
#define PROTO_F_CONN_ERROR	"conn_error"
#define PROTO_F_COMPLETE	"complete"	/* done: the message is finished, unjournalled */
#define PROTO_F_ALL		"all"
#define PROTO_F_ARRIVAL		"arrival"
#define PROTO_F_NEXT_TRY	"next_try"
#define PROTO_F_EXPIRY		"expiry"
#define PROTO_F_ATTEMPTS	"attempts"
#define PROTO_F_FLAGS		"flags"
#define PROTO_F_NRCPT		"nrcpt"
#define PROTO_F_ERROR		"error"
#define PROTO_F_MESSAGES	"messages"
#define PROTO_F_PID		"pid"
#define PROTO_F_QUEUE_DIRECTORY	"queue_directory"
#define PROTO_F_ENTRIES		"entries"
#define PROTO_F_TIMERS		"timers"
#define PROTO_F_HELD		"held"
#define PROTO_F_GATES_OPEN	"gates_open"
#define PROTO_F_RECONCILING	"reconciling"
#define PROTO_F_IN_FLIGHT	"in_flight"
#define PROTO_F_FINISHED	"finished"
#define PROTO_F_FAILING		"failing"
#define PROTO_F_FAILING_AT	"failing_at"
#define PROTO_F_NEXT_PROBE	"next_probe"
#define PROTO_F_POLICY		"policy"
#define PROTO_F_ARRIVALS	"arrivals"
#define PROTO_F_HOME		"home"	/* summary: a held domain's home host (home.h) */
#define PROTO_F_MAX_MESSAGES	"max_messages"	/* summary, domainstatus: a cap (quota.h) */
#define PROTO_F_MAX_BYTES	"max_bytes"
#define PROTO_F_MAILDROP	"maildrop"	/* hello: a POP3 session's bind */
#define PROTO_F_AFTER		"after"	/* heldlist: the page starts after this queue ID */
#define PROTO_F_LIMIT		"limit"	/* heldlist: at most this many held= records */
#define PROTO_F_BEFORE		"before"	/* heldlist: the page before this queue ID */
#define PROTO_F_SUBJECT		"subject"	/* held: the raw Subject (mail/header.h) */
#define PROTO_F_ACTION		"action"	/* heldact: PROTO_ACTION_* */
/* summary's qshape age buckets, youngest first (see type=summary above) */
#define PROTO_NBUCKETS		10
#define PROTO_F_BUCKETS	\
	{ "b5", "b10", "b20", "b40", "b80", "b160", "b320", "b640", "b1280", "b1280p" }

/* The words of status= in triggered, domainstatus, gateclosed and end. */
enum proto_status {
	PROTO_STATUS_OK,	/* done (trigger: released, mail waits) */
	PROTO_STATUS_NONE,	/* trigger: released, but no mail waits */
	PROTO_STATUS_DENIED,	/* this caller may not */
	PROTO_STATUS_UNKNOWN,	/* no such domain */
	PROTO_STATUS_BUSY,	/* rate-limited: this client asks too often */
	PROTO_STATUS_ERROR,	/* qmgr could not answer; reason says why */
	PROTO_STATUS_N
};

/* The words of source=: who asked for a release or a close. */
enum proto_source {
	PROTO_SOURCE_ETRN,	/* smtpd's ETRN command */
	PROTO_SOURCE_FINGER,	/* fingerd */
	PROTO_SOURCE_WEB,	/* the web login */
	PROTO_SOURCE_PROBE,	/* the prober found the site up */
	PROTO_SOURCE_ATRN,	/* an ODMR session bound the domain */
	PROTO_SOURCE_CLI,	/* the operator: sluice flush */
	PROTO_SOURCE_PEER,	/* another sluice of peers, after the peer login
				   (mail/peer.h); never passed on */
	PROTO_SOURCE_N
};

/* The words of gate=: domainstatus says held|open, summary and list any. */
enum proto_gate {
	PROTO_GATE_HELD,
	PROTO_GATE_OPEN,
	PROTO_GATE_BACKUP,
	PROTO_GATE_RELAY,
	PROTO_GATE_N
};

/* The words of a type=rcpt record's status=. */
enum proto_result {
	PROTO_RESULT_SENT,
	PROTO_RESULT_DEFERRED,
	PROTO_RESULT_BOUNCED,
	PROTO_RESULT_N
};

/* proto_*_name - the wire word of an enum value (panics out of range) */
const char *proto_status_name(enum proto_status st);
const char *proto_source_name(enum proto_source src);
const char *proto_gate_name(enum proto_gate gate);
const char *proto_result_name(enum proto_result res);
/* proto_*_parse - the enum value of a wire word; false for any other word */
bool proto_status_parse(const char *word, enum proto_status *st_r);
bool proto_source_parse(const char *word, enum proto_source *src_r);
bool proto_gate_parse(const char *word, enum proto_gate *gate_r);
bool proto_result_parse(const char *word, enum proto_result *res_r);

/*
 * qmgr_call - one request to qmgr on QUEUE_DIR/private/qmgr, one reply.
 * Blocks at most timeout_ms (qmgr answers from memory and the index, so
 * a short timeout is enough). 0 with a new record in *reply_r, or -1
 * (errno: ECONNREFUSED/ENOENT qmgr not running, ETIMEDOUT, EBADMSG).
 */
int qmgr_call(const char *qdir, const struct ipc_rec *req, int timeout_ms,
    struct ipc_rec **reply_r);
/*
 * qmgr_call_multi - as qmgr_call, for requests answered by several
 * records: fn sees each one up to type=end (not passed to fn). 0/-1.
 */
int qmgr_call_multi(const char *qdir, const struct ipc_rec *req, int timeout_ms,
    int (*fn)(const struct ipc_rec *rec, void *ctx), void *ctx);

/*
 * qmgr_call_public - as qmgr_call_multi, on QUEUE_DIR/public/qmgr: the
 * CLI's requests (type=summary), for a daemon that answers a peer.
 */
int qmgr_call_public(const char *qdir, const struct ipc_rec *req, int timeout_ms,
    int (*fn)(const struct ipc_rec *rec, void *ctx), void *ctx);

/*
 * qmgr_notify_queued - tell qmgr that message id is committed. Best
 * effort and never blocking: when qmgr is down the message is still safe
 * on disk and qmgr indexes it at start. 0 sent, -1 not sent (errno).
 */
int qmgr_notify_queued(const char *qdir, const char *id);

/*
 * Recipients one record carries: a type=job's rcpt= idx= pairs (qmgr
 * sends at most this many, deliver and etrn accept no more; the rest of
 * an entry follows in the next job) and a type=entry's rcpt= list. Two
 * fields a recipient must fit IPC_FIELDS_MAX with the job's others.
 */
#define PROTO_JOB_RCPT_MAX	400
/* The most held= records one heldlist answers (a page, and one to see past it). */
#define PROTO_HELD_PAGE_MAX	101
/* The words of heldact's action=. */
#define PROTO_ACTION_DELETE	"delete"
#define PROTO_ACTION_BOUNCE	"bounce"
/* Domains one ATRN session may bind (type=hello bind=). */
#define PROTO_BIND_MAX		64
/* The ETRN argument of a flush of every domain, between peers only ('*' is in no group name). */
#define PROTO_PEER_ETRN_ALL	"#*"

#endif
