/* fingerd_session - one finger client: the query line, qmgr, the answer */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* lib/util */
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/proto.h"
/* fingerd */
#include "fingerd/fingerd.h"

/* fingerd_say - write text and close the session once it is sent */
static void
fingerd_say(struct finger_session *s, const char *text)
{
	stream_write(s->st, text, strlen(text));
	s->closing = true;
	/* A write error shows up as STREAM_EV_ERROR, which closes the session. */
	(void)stream_flush(s->st);
	stream_pause(s->st, true);
}

/*
 * fingerd_trigger - release q->domain through qmgr's one trigger path.
 * Returns the text for the Status: line; *show_r says whether the
 * domain's real queue status may be shown (only when finger may
 * release it, so that other domains look like unknown ones).
 */
static const char *
fingerd_trigger(struct finger_session *s, const char *domain, bool *show_r)
{
	const struct config *cfg = s->srv->cfg;
	struct ipc_rec *req = ipc_rec_new(PROTO_T_TRIGGER), *rep = NULL;
	const char *status, *text;

	*show_r = false;
	ipc_rec_add(req, "domain", domain);
	ipc_rec_add(req, "source", "finger");
	ipc_rec_add(req, "client", s->addr);
	/*
	 * XXX qmgr_call blocks this process for up to the timeout; qmgr
	 * answers from memory, so in practice it is a local round trip.
	 */
	if (qmgr_call(cfg->queue_directory, req, FINGERD_QMGR_TIMEOUT_MS, &rep) < 0) {
		log_warn("trigger domain %s: qmgr: %s", domain, strerror(errno));
		ipc_rec_free(&req);
		return "mail system unavailable; try again later";
	}
	ipc_rec_free(&req);
	status = ipc_rec_get(rep, "status");
	if (status == NULL || strcmp(ipc_rec_type(rep), PROTO_T_TRIGGERED) != 0)
		status = "error";
	if (strcmp(status, "ok") == 0) {
		*show_r = true;
		text = "delivery started";
	} else if (strcmp(status, "none") == 0) {
		*show_r = true;
		text = "no mail waiting";
	} else if (strcmp(status, "busy") == 0) {
		text = "too many requests; try again in a minute";
	} else if (strcmp(status, "error") == 0) {
		text = "mail system unavailable; try again later";
	} else {
		/* denied and unknown look alike to the client, by design. */
		text = "no mail waiting";
	}
	ipc_rec_free(&rep);
	return text;
}

/* fingerd_status - fill fs from qmgr's domainstatus; 0/-1 */
static int
fingerd_status(struct finger_session *s, const char *domain,
    struct finger_status *fs)
{
	struct ipc_rec *req = ipc_rec_new(PROTO_T_DOMAINSTATUS), *rep = NULL;
	const char *status;
	unsigned long long oldest = 0, expiry = 0;
	int ret = -1;

	ipc_rec_add(req, "domain", domain);
	if (qmgr_call(s->srv->cfg->queue_directory, req, FINGERD_QMGR_TIMEOUT_MS,
	    &rep) < 0) {
		log_warn("get status of domain %s: qmgr: %s", domain, strerror(errno));
		ipc_rec_free(&req);
		return -1;
	}
	ipc_rec_free(&req);
	status = ipc_rec_get(rep, "status");
	if (status != NULL && strcmp(status, "ok") == 0 &&
	    ipc_rec_get_num(rep, "pending", 1ULL << 40, &fs->pending) == 0 &&
	    ipc_rec_get_num(rep, "bytes", 1ULL << 62, &fs->bytes) == 0 &&
	    ipc_rec_get_num(rep, "oldest", 1ULL << 40, &oldest) == 0 &&
	    ipc_rec_get_num(rep, "next_expiry", 1ULL << 40, &expiry) == 0) {
		fs->oldest = (time_t)oldest;
		fs->next_expiry = (time_t)expiry;
		ret = 0;
	} else if (status != NULL && strcmp(status, "unknown") == 0) {
		/* Gone from the table since the trigger (a reload): no mail. */
		ret = 0;
	} else {
		log_warn("get status of domain %s: bad reply from qmgr", domain);
	}
	ipc_rec_free(&rep);
	return ret;
}

/* fingerd_query - act on one query line */
static void
fingerd_query(struct finger_session *s, const char *line, size_t len)
{
	struct finger_query q;
	struct finger_status fs = { 0 };
	bool show;
	char *text;

	if (!fingerd_client_query(s->srv, s->addr)) {
		log_info("reject: query from %s: too many queries", s->addr);
		fingerd_say(s, FINGERD_T_RATE);
		return;
	}
	fingerd_query_parse(line, len, &q);
	switch (q.kind) {
	case FINGER_Q_EMPTY:
		fingerd_say(s, FINGERD_T_BANNER);
		return;
	case FINGER_Q_FORWARD:
		log_info("reject: query from %s: forwarding denied", s->addr);
		fingerd_say(s, FINGERD_T_FORWARD);
		return;
	case FINGER_Q_BAD:
		fingerd_say(s, FINGERD_T_BAD);
		return;
	case FINGER_Q_DOMAIN:
		break;
	}
	fs.domain = q.domain;
	fs.state = fingerd_trigger(s, q.domain, &show);
	if (show && fingerd_status(s, q.domain, &fs) < 0) {
		memset(&fs, 0, sizeof(fs));
		fs.domain = q.domain;
		fs.state = "mail system unavailable; try again later";
	}
	text = fingerd_answer(&fs, q.verbose, time(NULL));
	fingerd_say(s, text);
	free(text);
}

/*
 * fingerd_drain - the answer is out: half-close and wait for the client
 * to close. Closing with unread input makes the kernel send a reset,
 * which can destroy the answer before the client has read it.
 */
static void
fingerd_drain(struct finger_session *s)
{
	s->draining = true;
	(void)shutdown(stream_fd(s->st), SHUT_WR);
	(void)stream_discard_input(s->st);
	stream_pause(s->st, false);
	stream_set_timeout(s->st, FINGERD_DRAIN_MS);
}

/* fingerd_session_event - input, output done, timeout or error */
static void
fingerd_session_event(struct stream *st, unsigned events, void *ctx)
{
	struct finger_session *s = ctx;
	const char *line;
	size_t len;
	int r;

	if (events & STREAM_EV_ERROR) {
		log_debug("lost connection from %s: %s", s->addr, stream_error(st));
		fingerd_session_free(&s);
		return;
	}
	if (s->draining) {
		(void)stream_discard_input(st);
		if (events & (STREAM_EV_EOF | STREAM_EV_TIMEOUT))
			fingerd_session_free(&s);
		return;
	}
	if (events & STREAM_EV_TIMEOUT) {
		log_info("timeout after %s from %s", s->closing ? "answer" : "connect",
		    s->addr);
		fingerd_session_free(&s);
		return;
	}
	if (!s->closing && (events & STREAM_EV_READ)) {
		r = stream_read_line(st, FINGERD_LINE_MAX, &line, &len);
		if (r < 0) {
			log_info("reject: query from %s: line too long", s->addr);
			fingerd_say(s, FINGERD_T_TOO_LONG);
		} else if (r > 0) {
			fingerd_query(s, line, len);
		}
	}
	if (s->closing) {
		if (stream_pending(st) == 0)
			fingerd_drain(s);
		return;
	}
	if (events & STREAM_EV_EOF) {
		/* RFC 1288 wants the query to end in CRLF: no line, no answer. */
		log_debug("disconnect from %s without a query", s->addr);
		fingerd_session_free(&s);
	}
}

/* fingerd_session_new - a session for the accepted socket fd */
void
fingerd_session_new(struct fingerd *srv, int fd, const char *addr)
{
	struct finger_session *s = xcalloc(1, sizeof(*s));

	s->srv = srv;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	s->st = stream_new(srv->loop, fd, fingerd_session_event, s);
	/* One timer covers the query line and the writing of the answer. */
	stream_set_timeout(s->st, (uint64_t)srv->cfg->finger_timeout * 1000);
	s->next = srv->sessions;
	if (srv->sessions != NULL)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	log_debug("connect from %s", addr);
}

/* fingerd_session_free - unlink, release the client slot, close, free */
void
fingerd_session_free(struct finger_session **sp)
{
	struct finger_session *s = *sp;
	struct fingerd *srv;

	if (s == NULL)
		return;
	srv = s->srv;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	srv->nsessions--;
	fingerd_client_release(srv, s->addr);
	stream_free(&s->st);
	free(s);
	*sp = NULL;
}
