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
 *	                              rcpt= (repeated) error=
 *	type=summary               -> type=domain domain= messages= bytes= oldest=
 *	                              b5= b10= b20= b40= b80= b160= b320= b640= b1280=
 *	                              b1280p= gate=held|open|relay
 *	                              (qshape age buckets: b5 counts entries younger
 *	                              than 5 minutes, b10 those of 5 to 10, ...,
 *	                              b1280p those of 1280 minutes and older)
 *	type=delete id=ID (repeated) | domain=D
 *	                           -> type=deleted id=ID (per message removed, or
 *	                              whose recipients in D were removed)
 *	                              type=missing id=ID (no such message)
 *	type=reindex               -> type=reindexed messages=N
 *	type=status                -> type=status pid= queue_directory= messages= entries=
 *	all replies end with:         type=end status=ok|error [reason=TEXT]
 */
#ifndef SLUICE_PROTO_H
#define SLUICE_PROTO_H

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

/*
 * qmgr_notify_queued - tell qmgr that message id is committed. Best
 * effort and never blocking: when qmgr is down the message is still safe
 * on disk and qmgr indexes it at start. 0 sent, -1 not sent (errno).
 */
int qmgr_notify_queued(const char *qdir, const char *id);

#endif
