/*
 * fingerd_session - one finger client: the query line, qmgr, the answer
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* lib/util */
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/daemon_server.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
/* fingerd */
#include "fingerd/fingerd.h"

/*
 * fingerd_drain - the answer is out: half-close and wait for the client
 * to close. Closing with unread input makes the kernel send a reset,
 * which can destroy the answer before the client has read it.
 */
static void
fingerd_drain(struct fingerd_session *s)
{
	s->draining = true;
	(void)shutdown(stream_fd(s->st), SHUT_WR);
	(void)stream_discard_input(s->st);
	stream_pause(s->st, false);
	/* A deadline: octets trickled after the answer must not hold us. */
	stream_set_deadline(s->st, ev_now() + FINGERD_DRAIN_MS);
}

/*
 * fingerd_deadline - finger_timeout from now, as a deadline: a client
 * that trickles its query (or reads the answer) an octet at a time
 * gets no more time than a silent one.
 */
static void
fingerd_deadline(struct fingerd_session *s)
{
	stream_set_deadline(s->st, ev_now() +
	    (uint64_t)s->srv->cfg->finger_timeout * 1000u);
}

/* fingerd_say - write text; the session closes once it is sent */
static void
fingerd_say(struct fingerd_session *s, const char *text)
{
	s->phase = FINGER_P_ANSWER;
	/* The client has finger_timeout to take the answer, too. */
	fingerd_deadline(s);
	stream_write(s->st, text, strlen(text));
	/* A write error shows up as STREAM_EV_ERROR, which closes the session. */
	(void)stream_flush(s->st);
	stream_pause(s->st, true);
}

/* fingerd_qmgr_end - forget the request in flight to qmgr */
static void
fingerd_qmgr_end(struct fingerd_session *s)
{
	ev_timer_cancel(s->srv->loop, &s->qmgr_timer);
	if (s->qmgr_fd >= 0) {
		ev_io_del(s->srv->loop, s->qmgr_fd);
		(void)close(s->qmgr_fd);
		s->qmgr_fd = -1;
	}
}

/*
 * fingerd_reply - answer with s->fs, outside the stream's callback: if
 * the answer went out at once, no flush event follows, so drain now.
 */
static void
fingerd_reply(struct fingerd_session *s)
{
	char *text = fingerd_answer(&s->fs, s->q.verbose, time(NULL));

	fingerd_say(s, text);
	free(text);
	if (stream_pending(s->st) == 0)
		fingerd_drain(s);
}

/* fingerd_unavailable - qmgr did not answer: say so in the usual shape */
static void
fingerd_unavailable(struct fingerd_session *s, const char *why)
{
	log_warn("%s domain %s: qmgr: %s", s->phase == FINGER_P_TRIGGER ?
	    "trigger" : "get status of", s->q.domain, why);
	fingerd_qmgr_end(s);
	memset(&s->fs, 0, sizeof(s->fs));
	s->fs.domain = s->q.domain;
	s->fs.state = FINGERD_S_UNAVAILABLE;
	s->fs.unknown = true;
	fingerd_reply(s);
}

static void fingerd_qmgr_read(int fd, unsigned events, void *ctx);

/* fingerd_qmgr_timeout - qmgr took too long */
static void
fingerd_qmgr_timeout(void *ctx)
{
	struct fingerd_session *s = ctx;

	s->qmgr_timer = NULL;
	fingerd_unavailable(s, "timeout");
}

/*
 * fingerd_ask - send qmgr the request of the next phase and wait for
 * its reply in the loop: a slow qmgr never stalls the other sessions.
 */
static void
fingerd_ask(struct fingerd_session *s, enum finger_phase phase)
{
	struct ipc_rec *req;
	char *path = xasprintf("%s/%s", s->srv->cfg->queue_directory,
	    PROTO_QMGR_PRIVATE);
	int ret, saved;

	s->phase = phase;
	if (phase == FINGER_P_TRIGGER)
		req = proto_trigger_encode(&(struct proto_trigger){
		    .domain = s->q.domain, .source = PROTO_SOURCE_FINGER,
		    .client = s->addr });
	else
		/* policy=1: what finger may not release, it may not see either. */
		req = proto_domainstatus_req_encode(&(struct proto_domainstatus_req){
		    .domain = s->q.domain, .policy = true,
		    .source = PROTO_SOURCE_FINGER, .client = s->addr });
	s->qmgr_fd = ipc_connect(path, true);
	ret = s->qmgr_fd < 0 ? -1 : ipc_send(s->qmgr_fd, req);
	if (ret == 0)
		ret = ev_io_add(s->srv->loop, s->qmgr_fd, EV_READ, fingerd_qmgr_read, s);
	saved = errno;
	free(path);
	ipc_rec_free(&req);
	if (ret < 0) {
		fingerd_unavailable(s, strerror(saved));
		return;
	}
	s->qmgr_timer = ev_timer_add(s->srv->loop, FINGERD_QMGR_TIMEOUT_MS,
	    fingerd_qmgr_timeout, s);
}

/*
 * fingerd_triggered - qmgr's answer to the trigger. Only a domain that
 * finger may release ("ok", "none") has its real status shown; "denied"
 * and "unknown" look alike to the client, by design.
 */
static void
fingerd_triggered(struct fingerd_session *s, const struct ipc_rec *rep)
{
	struct proto_triggered t;

	if (proto_triggered_decode(rep, &t, "qmgr") < 0)
		t.status = PROTO_STATUS_ERROR;
	switch (t.status) {
	case PROTO_STATUS_OK:
	case PROTO_STATUS_NONE:
		s->fs.state = t.status == PROTO_STATUS_OK ? FINGERD_S_STARTED :
		    FINGERD_S_NONE;
		fingerd_ask(s, FINGER_P_STATUS);
		return;
	case PROTO_STATUS_BUSY:
		s->fs.state = FINGERD_S_BUSY;
		s->fs.unknown = true;
		break;
	case PROTO_STATUS_ERROR:
	case PROTO_STATUS_N:
		s->fs.state = FINGERD_S_UNAVAILABLE;
		s->fs.unknown = true;
		break;
	case PROTO_STATUS_DENIED:
	case PROTO_STATUS_UNKNOWN:
		s->fs.state = FINGERD_S_NONE;
		break;
	}
	fingerd_reply(s);
}

/*
 * fingerd_status_more - the release's progress from st (status=ok). The
 * times are bounded as the others; failing is qmgr's text, made
 * printable again (it goes to the client).
 */
static void
fingerd_status_more(struct finger_status *fs, const struct proto_domainstatus *st)
{
	size_t i;

	fs->open = st->gate == PROTO_GATE_OPEN;
	fs->in_flight = st->in_flight <= 1ULL << 40 ? st->in_flight : 1ULL << 40;
	fs->delivered = st->delivered <= 1ULL << 40 ? st->delivered : 1ULL << 40;
	fs->finished = st->finished <= INT32_MAX * 4ULL ? (time_t)st->finished : 0;
	fs->failing_at = st->failing_at <= INT32_MAX * 4ULL ? (time_t)st->failing_at : 0;
	fs->next_probe = st->next_probe <= INT32_MAX * 4ULL ? (time_t)st->next_probe : 0;
	fs->max_messages = st->max_messages;
	fs->max_bytes = st->max_bytes;
	snprintf(fs->failing, sizeof(fs->failing), "%s", st->failing != NULL ? st->failing : "");
	for (i = 0; fs->failing[i] != '\0'; i++)
		if ((unsigned char)fs->failing[i] < 0x20 || (unsigned char)fs->failing[i] > 0x7e)
			fs->failing[i] = '?';
	/* A report-only query names the state it found, not one it caused. */
	if (fs->state == NULL)
		fs->state = fs->pending == 0 && fs->in_flight == 0 ? FINGERD_S_NONE :
		    fs->open ? FINGERD_S_UNDER_WAY : FINGERD_S_HELD;
}

/* fingerd_status - qmgr's domainstatus: the numbers of the answer */
static void
fingerd_status(struct fingerd_session *s, const struct ipc_rec *rep)
{
	struct proto_domainstatus st;

	if (proto_domainstatus_decode(rep, &st, "qmgr") == 0 &&
	    st.status == PROTO_STATUS_OK && st.pending <= 1ULL << 40 &&
	    st.bytes <= 1ULL << 62 && st.oldest <= INT64_MAX &&
	    st.next_expiry <= INT64_MAX) {
		/*
		 * Any time_t is taken: a stored time may be absurd (corrupt,
		 * far future) and still be counted; fingerd_age() saturates.
		 */
		s->fs.pending = st.pending;
		s->fs.bytes = st.bytes;
		s->fs.oldest = (time_t)st.oldest;
		s->fs.next_expiry = (time_t)st.next_expiry;
		fingerd_status_more(&s->fs, &st);
	} else if (st.status != PROTO_STATUS_UNKNOWN) {
		/* ("unknown": gone from the table since the trigger: no mail.) */
		fingerd_unavailable(s, "bad domainstatus reply");
		return;
	}
	if (s->fs.state == NULL)
		s->fs.state = FINGERD_S_NONE;
	fingerd_reply(s);
}

/* fingerd_qmgr_read - qmgr's reply to the request in flight */
static void
fingerd_qmgr_read(int fd, unsigned events, void *ctx)
{
	struct fingerd_session *s = ctx;
	struct ipc_rec *rep = NULL;
	int r = ipc_recv(fd, &rep);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		fingerd_unavailable(s, r == 0 ? "connection closed" : strerror(errno));
		return;
	}
	fingerd_qmgr_end(s);
	if (s->phase == FINGER_P_TRIGGER)
		fingerd_triggered(s, rep);
	else
		fingerd_status(s, rep);
	ipc_rec_free(&rep);
}

/* fingerd_query - act on one query line */
static void
fingerd_query(struct fingerd_session *s, const char *line, size_t len)
{
	if (!fingerd_client_query(s->srv, s->addr)) {
		log_warn("refuse query from %s: too many queries", s->addr);
		fingerd_say(s, FINGERD_T_RATE);
		return;
	}
	fingerd_query_parse(line, len, &s->q);
	switch (s->q.kind) {
	case FINGER_Q_EMPTY:
		fingerd_say(s, FINGERD_T_BANNER);
		return;
	case FINGER_Q_FORWARD:
		log_warn("refuse query from %s: forwarding denied", s->addr);
		fingerd_say(s, FINGERD_T_FORWARD);
		return;
	case FINGER_Q_BAD:
		fingerd_say(s, FINGERD_T_BAD);
		return;
	case FINGER_Q_DOMAIN:
		break;
	}
	/*
	 * Nothing more is read from the client: one query per connection.
	 * The qmgr timer bounds the wait now, not the client's timeout.
	 */
	stream_pause(s->st, true);
	stream_set_deadline(s->st, 0);
	s->fs.domain = s->q.domain;
	fingerd_ask(s, s->q.report ? FINGER_P_STATUS : FINGER_P_TRIGGER);
}

/* fingerd_session_event - input, output done, timeout or error */
static void
fingerd_session_event(struct stream *st, unsigned events, void *ctx)
{
	struct fingerd_session *s = ctx;
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
		if (events & (STREAM_EV_EOF | STREAM_EV_DEADLINE))
			fingerd_session_free(&s);
		return;
	}
	if (events & STREAM_EV_DEADLINE) {
		log_info("timeout after %s from %s: deadline %lds exceeded",
		    s->phase == FINGER_P_QUERY ? "connect" : "query", s->addr,
		    s->srv->cfg->finger_timeout);
		fingerd_session_free(&s);
		return;
	}
	if (s->phase == FINGER_P_QUERY && (events & STREAM_EV_READ)) {
		r = stream_read_line(st, FINGERD_LINE_MAX, &line, &len);
		if (r < 0) {
			log_warn("refuse query from %s: line too long", s->addr);
			fingerd_say(s, FINGERD_T_TOO_LONG);
		} else if (r > 0) {
			fingerd_query(s, line, len);
		}
	}
	if (s->phase == FINGER_P_ANSWER) {
		if (stream_pending(st) == 0 && !s->draining)
			fingerd_drain(s);
		return;
	}
	if (s->phase == FINGER_P_QUERY && (events & STREAM_EV_EOF)) {
		/* RFC 1288 wants the query to end in CRLF: no line, no answer. */
		log_debug("disconnect from %s without a query", s->addr);
		fingerd_session_free(&s);
	}
}

/* fingerd_session_new - a session for the accepted socket fd */
void
fingerd_session_new(struct fingerd *srv, int fd, const struct daemon_peer *peer)
{
	struct fingerd_session *s = xcalloc(1, sizeof(*s));

	s->srv = srv;
	s->qmgr_fd = -1;
	snprintf(s->addr, sizeof(s->addr), "%s", peer->addr);
	s->st = daemon_session_begin(srv->serve, &s->ds, s, fd,
	    fingerd_session_event, peer->name, s->addr);
	if (s->st == NULL) {
		free(s);
		return;
	}
	/* The query line has finger_timeout from connect (a deadline). */
	fingerd_deadline(s);
	log_debug("connect from %s", s->addr);
}

/* fingerd_session_free - unlink, release the client slot, close, free */
void
fingerd_session_free(struct fingerd_session **sp)
{
	struct fingerd_session *s = *sp;

	if (s == NULL)
		return;
	daemon_session_end(&s->ds);
	fingerd_qmgr_end(s);
	stream_free(&s->st);
	free(s);
	*sp = NULL;
}
