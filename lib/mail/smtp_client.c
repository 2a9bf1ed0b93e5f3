/* smtp_client - the event-driven SMTP client engine */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "util/events.h"
#include "util/log.h"
#include "util/stream.h"
#include "util/xmalloc.h"
#include "mail/queue.h"
#include "mail/smtp_cmd.h"
#include "mail/smtp_client.h"

/* A reply line longer than this is garbage (RFC 5321 says 512). */
#define SMTP_CLIENT_LINE_MAX	4096
/* Content is read in chunks; past this much unsent output we wait. */
#define SMTP_CLIENT_CHUNK	32768
#define SMTP_CLIENT_HIGHWATER	(4 * SMTP_CLIENT_CHUNK)
/* Content written per loop turn, so one big message does not starve others. */
#define SMTP_CLIENT_TURN	(8 * SMTP_CLIENT_CHUNK)

enum smtp_client_state {
	CS_CONNECTING,
	CS_BANNER,
	CS_EHLO,
	CS_HELO,
	CS_STARTTLS,
	CS_HANDSHAKE,
	CS_READY,
	CS_TRANSACTION,		/* commands sent, replies expected */
	CS_CONTENT,		/* sending the message */
	CS_QUIT,
	CS_CLOSED,
	CS_FAILED,
};

/* The commands of a transaction, in the order their replies come back. */
enum smtp_client_cmd {
	CMD_RSET,
	CMD_MAIL,
	CMD_RCPT,
	CMD_DATA,
	CMD_DOT,
};

struct smtp_client_step {
	enum smtp_client_cmd cmd;
	size_t rcpt;		/* CMD_RCPT: index into msg->rcpt */
};

/* A reply class as a bit: CLASS(2) for 2xx. */
#define CLASS(n)	(1u << (n))

/*
 * What each command of a transaction may get back (RFC 5321 4.3.2): a
 * reply of another class is out of protocol, never a result. DATA takes
 * exactly 354 to go on; a 2xx to DATA would otherwise read as "sent".
 */
static const struct {
	const char *name;
	unsigned classes;
	int go;			/* the one intermediate (3xx) reply allowed, or 0 */
} smtp_client_cmds[] = {
	[CMD_RSET] = { "RSET", CLASS(2) | CLASS(4) | CLASS(5), 0 },
	[CMD_MAIL] = { "MAIL FROM", CLASS(2) | CLASS(4) | CLASS(5), 0 },
	[CMD_RCPT] = { "RCPT TO", CLASS(2) | CLASS(4) | CLASS(5), 0 },
	[CMD_DATA] = { "DATA", CLASS(4) | CLASS(5), 354 },
	[CMD_DOT] = { "end of data", CLASS(2) | CLASS(4) | CLASS(5), 0 },
};

struct smtp_client {
	struct ev_loop *loop;
	struct stream *st;
	bool own_stream;
	int connect_fd;
	struct ev_timer *connect_timer, *pump_timer, *later_timer;
	enum smtp_client_event later_event;
	smtp_client_fn *fn;
	void *ctx;

	char *helo_name, *peer_name;
	enum smtp_client_tls tls;
	SSL_CTX *tls_ctx;
	struct smtp_client_timeouts to;
	char peer[128];		/* "name[addr]" for messages */

	enum smtp_client_state state;
	unsigned ext;
	uint64_t size_limit;
	char *banner;
	bool tls_tried;

	/* The reply being read. */
	char reply[SMTP_CLIENT_REPLY_MAX];
	size_t reply_len, reply_lines;
	int reply_code;

	/* The transaction. */
	struct smtp_msg *msg;
	struct smtp_client_step *steps;
	size_t nsteps, nsent, nreplied;
	bool *accepted;
	size_t naccepted;
	bool mail_failed, ignore_dot;
	uint64_t content_sent;
	bool at_bol;
	unsigned ntx;

	enum smtp_client_fail fail;
	char fail_text[SMTP_CLIENT_REPLY_MAX];

	int busy;
	bool dead;
	bool in_call;		/* inside an owner's call: events must wait */
};

static void smtp_client_pump(struct smtp_client *cl);
static void smtp_client_later_fire(void *ctx);

/* smtp_client_fail_name - a keyword for each failure kind */
const char *
smtp_client_fail_name(enum smtp_client_fail f)
{
	static const char *const names[] = {
		[SMTP_FAIL_NONE] = "none",
		[SMTP_FAIL_CONNECT] = "connect",
		[SMTP_FAIL_TIMEOUT] = "timeout",
		[SMTP_FAIL_TLS] = "tls",
		[SMTP_FAIL_LOST] = "lost",
		[SMTP_FAIL_PROTOCOL] = "protocol",
		[SMTP_FAIL_GREETING] = "greeting",
		[SMTP_FAIL_HELO] = "helo",
		[SMTP_FAIL_LOCAL] = "local",
	};

	if ((size_t)f >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[f];
}

/* smtp_client_stage - what we were doing, for failure texts */
static const char *
smtp_client_stage(const struct smtp_client *cl)
{
	switch (cl->state) {
	case CS_CONNECTING:
	case CS_BANNER:
		return "while receiving the initial server greeting";
	case CS_EHLO:
	case CS_HELO:
		return "while performing the EHLO handshake";
	case CS_STARTTLS:
	case CS_HANDSHAKE:
		return "while performing the TLS handshake";
	case CS_TRANSACTION:
		if (cl->nreplied < cl->nsteps) {
			switch (cl->steps[cl->nreplied].cmd) {
			case CMD_RSET:
				return "while sending RSET";
			case CMD_MAIL:
				return "while sending MAIL FROM";
			case CMD_RCPT:
				return "while sending RCPT TO";
			case CMD_DATA:
				return "while sending DATA command";
			case CMD_DOT:
				return "while sending end of data -- message may be "
				    "sent more than once";
			}
		}
		return "during the transaction";
	case CS_CONTENT:
		return "while sending message body";
	case CS_QUIT:
		return "while sending QUIT";
	default:
		return "while idle";
	}
}

/* smtp_client_emit - give an event to the owner unless it freed us */
static void
smtp_client_emit(struct smtp_client *cl, enum smtp_client_event ev)
{
	if (!cl->dead)
		cl->fn(cl, ev, cl->ctx);
}

/* smtp_client_release - let go of the connection and every timer */
static void
smtp_client_release(struct smtp_client *cl)
{
	ev_timer_cancel(cl->loop, &cl->connect_timer);
	ev_timer_cancel(cl->loop, &cl->pump_timer);
	ev_timer_cancel(cl->loop, &cl->later_timer);
	if (cl->connect_fd >= 0) {
		ev_io_del(cl->loop, cl->connect_fd);
		(void)close(cl->connect_fd);
		cl->connect_fd = -1;
	}
	if (cl->st != NULL) {
		if (cl->own_stream)
			stream_free(&cl->st);
		else {
			stream_set_timeout(cl->st, 0);
			cl->st = NULL;
		}
	}
}

/* smtp_client_destroy - free the memory of a released client */
static void
smtp_client_destroy(struct smtp_client *cl)
{
	free(cl->helo_name);
	free(cl->peer_name);
	free(cl->banner);
	free(cl->steps);
	free(cl->accepted);
	if (cl->tls_ctx != NULL)
		SSL_CTX_free(cl->tls_ctx);
	free(cl);
}

/* smtp_client_settle - leave an entry point; free if the owner asked to */
static void
smtp_client_settle(struct smtp_client *cl)
{
	if (--cl->busy == 0 && cl->dead)
		smtp_client_destroy(cl);
}

/* smtp_result_set - store one recipient's result */
static void
smtp_result_set(struct smtp_rcpt_result *r, int code, const char *dsn,
    const char *text)
{
	free(r->reply);
	r->code = code;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	r->reply = xstrdup(text);
}

/* smtp_reply_dsn - the enhanced code of a reply, or one derived from its code */
static void
smtp_reply_dsn(int code, const char *text, char *buf, size_t size)
{
	const char *p = text;
	size_t n1, n2, n3;

	/* "250 2.1.5 Ok": the enhanced code follows the reply code. */
	if (strlen(p) > 4)
		p += 4;
	n1 = strspn(p, "0123456789");
	if (n1 == 1 && p[0] == '0' + code / 100 && p[1] == '.') {
		n2 = strspn(p + 2, "0123456789");
		if (n2 >= 1 && n2 <= 3 && p[2 + n2] == '.') {
			n3 = strspn(p + 3 + n2, "0123456789");
			if (n3 >= 1 && n3 <= 3 && (p[3 + n2 + n3] == ' ' ||
			    p[3 + n2 + n3] == '\0')) {
				snprintf(buf, size, "%.*s", (int)(3 + n2 + n3), p);
				return;
			}
		}
	}
	snprintf(buf, size, "%d.0.0", code / 100);
}

const char *
smtp_client_fail_dsn(enum smtp_client_fail f)
{
	switch (f) {
	case SMTP_FAIL_CONNECT:
	case SMTP_FAIL_TIMEOUT:
		return "4.4.1";
	case SMTP_FAIL_TLS:
		return "4.7.5";
	case SMTP_FAIL_LOCAL:
		return "4.3.0";
	case SMTP_FAIL_PROTOCOL:
		return "4.5.0";
	default:
		return "4.4.2";
	}
}

/*
 * smtp_client_fail - the connection is unusable: record why, give every
 * recipient without a final reply the failure text, drop the connection
 * and tell the owner (on the next turn when inside one of the owner's
 * calls). After a protocol error no reply of the transaction can be
 * trusted to answer the command it seemed to answer, so every recipient
 * gets the failure, a RCPT rejection included.
 */
static void smtp_client_fail(struct smtp_client *cl, enum smtp_client_fail f,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
smtp_client_fail(struct smtp_client *cl, enum smtp_client_fail f,
    const char *fmt, ...)
{
	va_list ap;
	bool in_tx = cl->state == CS_TRANSACTION || cl->state == CS_CONTENT;
	size_t i;

	if (cl->state == CS_FAILED || cl->state == CS_CLOSED)
		return;
	va_start(ap, fmt);
	vsnprintf(cl->fail_text, sizeof(cl->fail_text), fmt, ap);
	va_end(ap);
	cl->fail = f;
	if (in_tx && cl->msg != NULL) {
		for (i = 0; i < cl->msg->nrcpt; i++) {
			struct smtp_rcpt_result *r = &cl->msg->result[i];

			if (r->reply == NULL || cl->accepted[i] ||
			    f == SMTP_FAIL_PROTOCOL)
				smtp_result_set(r, 0, smtp_client_fail_dsn(f),
				    cl->fail_text);
		}
	}
	cl->msg = NULL;
	cl->state = CS_FAILED;
	smtp_client_release(cl);
	if (cl->in_call) {
		cl->later_event = SMTP_CLIENT_FAILED;
		cl->later_timer = ev_timer_add(cl->loop, 0, smtp_client_later_fire,
		    cl);
		return;
	}
	smtp_client_emit(cl, SMTP_CLIENT_FAILED);
}

/*
 * smtp_client_quiet - about to send a command that is not pipelined
 * (before), with no reply outstanding: input buffered now was sent
 * before the command existed, so it answers nothing of ours. false (and
 * the session failed) if there is any.
 */
static bool
smtp_client_quiet(struct smtp_client *cl, const char *before)
{
	const char *line = "";
	char text[81];
	size_t len = 0, i;

	if (cl->st == NULL || stream_buffered(cl->st) == 0)
		return true;
	if (stream_read_line(cl->st, SMTP_CLIENT_LINE_MAX, &line, &len) <= 0)
		len = 0;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	for (i = 0; i < len && i < sizeof(text) - 1; i++)
		text[i] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
	text[i] = '\0';
	smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "protocol error: host %s sent "
	    "data nobody asked for, before our %s: %s", cl->peer, before,
	    len > 0 ? text : "(a partial line)");
	return false;
}

/* smtp_client_timeout - arm the stage timer of the stream */
static void
smtp_client_timeout(struct smtp_client *cl, uint64_t ms)
{
	if (cl->st != NULL)
		stream_set_timeout(cl->st, ms);
}

/*
 * smtp_client_command - send "verb[ arg]" now, never pipelined (nothing
 * may be buffered); false if the session failed instead
 */
static bool
smtp_client_command(struct smtp_client *cl, const char *verb, const char *arg)
{
	if (!smtp_client_quiet(cl, verb))
		return false;
	stream_printf(cl->st, "%s%s%s\r\n", verb, arg != NULL ? " " : "",
	    arg != NULL ? arg : "");
	/* A write error comes back as STREAM_EV_ERROR on the next turn. */
	(void)stream_flush(cl->st);
	return true;
}

/* smtp_client_ehlo - send EHLO (or HELO) and wait for the reply */
static void
smtp_client_ehlo(struct smtp_client *cl, bool helo)
{
	cl->ext = 0;
	cl->size_limit = 0;
	cl->state = helo ? CS_HELO : CS_EHLO;
	smtp_client_timeout(cl, cl->to.helo_ms);
	(void)smtp_client_command(cl, helo ? "HELO" : "EHLO", cl->helo_name);
}

/* smtp_client_ready - greeted: wait for the owner's next message */
static void
smtp_client_ready(struct smtp_client *cl)
{
	cl->state = CS_READY;
	smtp_client_timeout(cl, 0);
	smtp_client_emit(cl, SMTP_CLIENT_READY);
}

/* smtp_client_ehlo_line - note one extension of the EHLO reply */
static void
smtp_client_ehlo_line(struct smtp_client *cl, const char *kw)
{
	static const struct {
		const char *name;
		unsigned bit;
	} exts[] = {
		{ "PIPELINING", SMTP_EXT_PIPELINING },
		{ "SIZE", SMTP_EXT_SIZE },
		{ "8BITMIME", SMTP_EXT_8BITMIME },
		{ "STARTTLS", SMTP_EXT_STARTTLS },
		{ "DSN", SMTP_EXT_DSN },
		{ "ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCED },
	};
	size_t i, len = strcspn(kw, " =");

	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		if (strlen(exts[i].name) != len ||
		    strncasecmp(kw, exts[i].name, len) != 0)
			continue;
		cl->ext |= exts[i].bit;
		if (exts[i].bit == SMTP_EXT_SIZE && kw[len] == ' ')
			cl->size_limit = strtoull(kw + len + 1, NULL, 10);
	}
}

/* smtp_client_after_ehlo - STARTTLS now, or ready, as the policy says */
static void
smtp_client_after_ehlo(struct smtp_client *cl)
{
	if (cl->tls == SMTP_CLIENT_TLS_NONE || cl->tls_tried ||
	    stream_tls_active(cl->st)) {
		smtp_client_ready(cl);
		return;
	}
	if (cl->ext & SMTP_EXT_STARTTLS) {
		cl->tls_tried = true;
		cl->state = CS_STARTTLS;
		(void)smtp_client_command(cl, "STARTTLS", NULL);
		return;
	}
	if (cl->tls == SMTP_CLIENT_TLS_MAY) {
		smtp_client_ready(cl);
		return;
	}
	smtp_client_fail(cl, SMTP_FAIL_TLS, "TLS is required, but was not "
	    "offered by host %s", cl->peer);
}

/* smtp_client_tls_check - after the handshake: the name, for "verify" */
static bool
smtp_client_tls_check(struct smtp_client *cl)
{
	SSL *ssl = stream_tls_ssl(cl->st);
	X509 *cert;
	long vr;
	int ok;

	if (cl->tls != SMTP_CLIENT_TLS_VERIFY)
		return true;
	vr = SSL_get_verify_result(ssl);
	if (vr != X509_V_OK) {
		smtp_client_fail(cl, SMTP_FAIL_TLS, "server certificate of %s not "
		    "verified: %s", cl->peer, X509_verify_cert_error_string(vr));
		return false;
	}
	cert = SSL_get1_peer_certificate(ssl);
	if (cert == NULL) {
		smtp_client_fail(cl, SMTP_FAIL_TLS, "host %s presented no "
		    "certificate", cl->peer);
		return false;
	}
	/* A route given as an address literal is checked as an IP address. */
	{
		unsigned char buf[sizeof(struct in6_addr)];

		if (inet_pton(AF_INET, cl->peer_name, buf) == 1 ||
		    inet_pton(AF_INET6, cl->peer_name, buf) == 1)
			ok = X509_check_ip_asc(cert, cl->peer_name, 0);
		else
			ok = X509_check_host(cert, cl->peer_name, 0, 0, NULL);
	}
	X509_free(cert);
	if (ok != 1) {
		smtp_client_fail(cl, SMTP_FAIL_TLS, "server certificate of %s does "
		    "not match the name %s", cl->peer, cl->peer_name);
		return false;
	}
	return true;
}

/* smtp_client_tx_done - the transaction is over: back to ready */
static void
smtp_client_tx_done(struct smtp_client *cl)
{
	cl->msg = NULL;
	cl->ntx++;
	cl->state = CS_READY;
	smtp_client_timeout(cl, 0);
	smtp_client_emit(cl, SMTP_CLIENT_DONE);
}

/* smtp_client_send_steps - send what may go now (all of it if pipelining) */
static void
smtp_client_send_steps(struct smtp_client *cl)
{
	const struct smtp_msg *m = cl->msg;

	while (cl->nsent < cl->nsteps) {
		const struct smtp_client_step *s = &cl->steps[cl->nsent];

		if (!(cl->ext & SMTP_EXT_PIPELINING) && cl->nsent > cl->nreplied)
			break;
		if (cl->nsent == cl->nreplied &&
		    !smtp_client_quiet(cl, smtp_client_cmds[s->cmd].name))
			return;
		switch (s->cmd) {
		case CMD_RSET:
			stream_printf(cl->st, "RSET\r\n");
			break;
		case CMD_MAIL:
			stream_printf(cl->st, "MAIL FROM:<%s>", m->sender);
			if (cl->ext & SMTP_EXT_SIZE)
				stream_printf(cl->st, " SIZE=%llu",
				    (unsigned long long)m->content_len);
			if ((cl->ext & SMTP_EXT_DSN) && m->ret == DSN_RET_FULL)
				stream_printf(cl->st, " RET=FULL");
			else if ((cl->ext & SMTP_EXT_DSN) && m->ret == DSN_RET_HDRS)
				stream_printf(cl->st, " RET=HDRS");
			if ((cl->ext & SMTP_EXT_DSN) && m->envid != NULL) {
				char *x = smtp_xtext_encode(m->envid);

				stream_printf(cl->st, " ENVID=%s", x);
				free(x);
			}
			stream_printf(cl->st, "\r\n");
			break;
		case CMD_RCPT: {
			const struct smtp_msg_rcpt *r = &m->rcpt[s->rcpt];

			stream_printf(cl->st, "RCPT TO:<%s>", r->addr);
			if ((cl->ext & SMTP_EXT_DSN) && r->notify != 0) {
				const char *sep = "";

				stream_printf(cl->st, " NOTIFY=");
				if (r->notify & DSN_NOTIFY_NEVER)
					stream_printf(cl->st, "NEVER");
				if (r->notify & DSN_NOTIFY_SUCCESS) {
					stream_printf(cl->st, "SUCCESS");
					sep = ",";
				}
				if (r->notify & DSN_NOTIFY_FAILURE) {
					stream_printf(cl->st, "%sFAILURE", sep);
					sep = ",";
				}
				if (r->notify & DSN_NOTIFY_DELAY)
					stream_printf(cl->st, "%sDELAY", sep);
			}
			if ((cl->ext & SMTP_EXT_DSN) && r->orcpt != NULL)
				stream_printf(cl->st, " ORCPT=%s", r->orcpt);
			stream_printf(cl->st, "\r\n");
			break;
		}
		case CMD_DATA:
			stream_printf(cl->st, "DATA\r\n");
			break;
		case CMD_DOT:
			/* Never a planned step: added when content ends. */
			break;
		}
		cl->nsent++;
	}
	(void)stream_flush(cl->st);
}

/* smtp_client_step_add - append a step to the transaction plan */
static void
smtp_client_step_add(struct smtp_client *cl, enum smtp_client_cmd cmd,
    size_t rcpt)
{
	cl->steps[cl->nsteps].cmd = cmd;
	cl->steps[cl->nsteps].rcpt = rcpt;
	cl->nsteps++;
}

int
smtp_client_send(struct smtp_client *cl, struct smtp_msg *msg)
{
	size_t i;

	if (cl->state != CS_READY || msg->nrcpt == 0)
		return -1;
	msg->result = xcalloc(msg->nrcpt, sizeof(*msg->result));
	cl->msg = msg;
	free(cl->steps);
	free(cl->accepted);
	/* RSET, MAIL, RCPT..., DATA, and "." at the end. */
	cl->steps = xcalloc(msg->nrcpt + 4, sizeof(*cl->steps));
	cl->accepted = xcalloc(msg->nrcpt, sizeof(*cl->accepted));
	cl->nsteps = cl->nsent = cl->nreplied = 0;
	cl->naccepted = 0;
	cl->mail_failed = cl->ignore_dot = false;
	cl->content_sent = 0;
	cl->at_bol = true;
	/*
	 * A reused session starts with RSET: it clears whatever state the
	 * last transaction left and proves the connection is still alive.
	 */
	if (cl->ntx > 0)
		smtp_client_step_add(cl, CMD_RSET, 0);
	smtp_client_step_add(cl, CMD_MAIL, 0);
	for (i = 0; i < msg->nrcpt; i++)
		smtp_client_step_add(cl, CMD_RCPT, i);
	smtp_client_step_add(cl, CMD_DATA, 0);
	cl->state = CS_TRANSACTION;
	smtp_client_timeout(cl, cl->to.cmd_ms);
	cl->in_call = true;
	smtp_client_send_steps(cl);
	cl->in_call = false;
	return 0;
}

void
smtp_msg_clear(struct smtp_msg *msg)
{
	size_t i;

	if (msg->result == NULL)
		return;
	for (i = 0; i < msg->nrcpt; i++)
		free(msg->result[i].reply);
	xfree(&msg->result);
}

/* smtp_client_content_end - the last bytes of content, then "." */
static void
smtp_client_content_end(struct smtp_client *cl)
{
	/* The server had nothing to say while the content went out. */
	if (!smtp_client_quiet(cl, "end of data"))
		return;
	/* A message must end in CRLF before the final dot (RFC 5321 4.1.1.4). */
	if (!cl->at_bol)
		stream_write(cl->st, "\r\n", 2);
	stream_write(cl->st, ".\r\n", 3);
	(void)stream_flush(cl->st);
	smtp_client_step_add(cl, CMD_DOT, 0);
	cl->nsent = cl->nsteps;
	cl->state = CS_TRANSACTION;
	smtp_client_timeout(cl, cl->to.dot_ms);
}

/* smtp_client_stuff - write a chunk of content with dot-stuffing */
static void
smtp_client_stuff(struct smtp_client *cl, const char *p, size_t n)
{
	size_t start = 0, i;

	for (i = 0; i < n; i++) {
		if (cl->at_bol && p[i] == '.') {
			/* Dot-stuffing (RFC 5321 4.5.2): a line's leading dot is doubled. */
			stream_write(cl->st, p + start, i - start);
			stream_write(cl->st, ".", 1);
			start = i;
		}
		cl->at_bol = p[i] == '\n';
	}
	stream_write(cl->st, p + start, n - start);
}

/* smtp_client_pump_fire - the next turn of a big message */
static void
smtp_client_pump_fire(void *ctx)
{
	struct smtp_client *cl = ctx;

	cl->pump_timer = NULL;
	cl->busy++;
	smtp_client_pump(cl);
	smtp_client_settle(cl);
}

/*
 * smtp_client_pump - send content while the socket takes it. Waits for
 * STREAM_EV_FLUSHED when output piles up, and yields to the loop after
 * SMTP_CLIENT_TURN octets so other sessions get their share.
 */
static void
smtp_client_pump(struct smtp_client *cl)
{
	char buf[SMTP_CLIENT_CHUNK];
	size_t turn = 0;

	while (cl->state == CS_CONTENT) {
		uint64_t left = cl->msg->content_len - cl->content_sent;
		size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t n;

		if (left == 0) {
			smtp_client_content_end(cl);
			return;
		}
		if (stream_pending(cl->st) >= SMTP_CLIENT_HIGHWATER)
			return;
		if (turn >= SMTP_CLIENT_TURN) {
			cl->pump_timer = ev_timer_add(cl->loop, 0,
			    smtp_client_pump_fire, cl);
			return;
		}
		n = read(cl->msg->content_fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/*
			 * Without the whole message we must not send the final
			 * dot: dropping the connection makes the server discard
			 * what it got.
			 */
			smtp_client_fail(cl, SMTP_FAIL_LOCAL, "read message content: %s",
			    n < 0 ? strerror(errno) : "file is shorter than its header says");
			return;
		}
		smtp_client_stuff(cl, buf, (size_t)n);
		cl->content_sent += (uint64_t)n;
		turn += (size_t)n;
		(void)stream_flush(cl->st);
	}
}

/* smtp_client_rcpt_final - give every accepted recipient this reply */
static void
smtp_client_rcpt_final(struct smtp_client *cl, const char *dsn)
{
	size_t i;

	for (i = 0; i < cl->msg->nrcpt; i++)
		if (cl->accepted[i]) {
			smtp_result_set(&cl->msg->result[i], cl->reply_code, dsn,
			    cl->reply);
			cl->accepted[i] = false;
		}
}

/* smtp_client_tx_reply - a reply to one step of the transaction */
static void
smtp_client_tx_reply(struct smtp_client *cl, const char *dsn)
{
	struct smtp_client_step s;
	int code = cl->reply_code;
	bool pipelining = (cl->ext & SMTP_EXT_PIPELINING) != 0;
	size_t i;

	if (cl->nreplied >= cl->nsent) {
		smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "protocol error: host %s "
		    "sent a reply nobody asked for: %s", cl->peer, cl->reply);
		return;
	}
	s = cl->steps[cl->nreplied++];
	if (!(smtp_client_cmds[s.cmd].classes & CLASS(code / 100)) &&
	    code != smtp_client_cmds[s.cmd].go) {
		smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "protocol error: host %s "
		    "answered %s with a reply of the wrong kind: %s", cl->peer,
		    smtp_client_cmds[s.cmd].name, cl->reply);
		return;
	}
	switch (s.cmd) {
	case CMD_RSET:
		if (code / 100 != 2) {
			smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "host %s refused RSET: %s",
			    cl->peer, cl->reply);
			return;
		}
		break;
	case CMD_MAIL:
		if (code / 100 != 2) {
			cl->mail_failed = true;
			for (i = 0; i < cl->msg->nrcpt; i++)
				smtp_result_set(&cl->msg->result[i], code, dsn, cl->reply);
			if (!pipelining) {
				smtp_client_tx_done(cl);
				return;
			}
		}
		break;
	case CMD_RCPT:
		if (cl->mail_failed)
			break;
		smtp_result_set(&cl->msg->result[s.rcpt], code, dsn, cl->reply);
		if (code / 100 == 2) {
			cl->accepted[s.rcpt] = true;
			cl->naccepted++;
		}
		/* Without pipelining, DATA only if someone was accepted. */
		if (!pipelining && cl->nreplied == cl->nsteps - 1 &&
		    cl->naccepted == 0) {
			smtp_client_tx_done(cl);
			return;
		}
		break;
	case CMD_DATA:
		if (code == 354 && !smtp_client_quiet(cl, "message content"))
			return;
		if (code == 354 && cl->naccepted > 0 && !cl->mail_failed) {
			cl->state = CS_CONTENT;
			smtp_client_timeout(cl, cl->to.data_ms);
			smtp_client_pump(cl);
			return;
		}
		if (code == 354) {
			/* Pipelined DATA accepted with nobody to send to: end it empty. */
			cl->ignore_dot = true;
			smtp_client_content_end(cl);
			return;
		}
		if (cl->naccepted > 0)
			smtp_client_rcpt_final(cl, dsn);
		smtp_client_tx_done(cl);
		return;
	case CMD_DOT:
		if (!cl->ignore_dot)
			smtp_client_rcpt_final(cl, dsn);
		smtp_client_tx_done(cl);
		return;
	}
	smtp_client_send_steps(cl);
}

/* smtp_client_reply - a complete reply has been read */
static void
smtp_client_reply(struct smtp_client *cl)
{
	char dsn[16];
	int code = cl->reply_code;

	smtp_reply_dsn(code, cl->reply, dsn, sizeof(dsn));
	switch (cl->state) {
	case CS_BANNER:
		free(cl->banner);
		cl->banner = xstrdup(cl->reply);
		if (code != 220) {
			smtp_client_fail(cl, SMTP_FAIL_GREETING, "host %s refused to "
			    "talk to me: %s", cl->peer, cl->reply);
			return;
		}
		smtp_client_ehlo(cl, false);
		return;
	case CS_EHLO:
		if (code / 100 == 2)
			smtp_client_after_ehlo(cl);
		else if (code / 100 == 5)
			smtp_client_ehlo(cl, true);
		else
			smtp_client_fail(cl, SMTP_FAIL_HELO, "host %s refused EHLO: %s",
			    cl->peer, cl->reply);
		return;
	case CS_HELO:
		if (code / 100 == 2)
			smtp_client_after_ehlo(cl);
		else
			smtp_client_fail(cl, SMTP_FAIL_HELO, "host %s refused HELO: %s",
			    cl->peer, cl->reply);
		return;
	case CS_STARTTLS:
		if (code == 220 && !smtp_client_quiet(cl, "TLS handshake"))
			return;
		if (code == 220) {
			cl->state = CS_HANDSHAKE;
			if (stream_starttls_client(cl->st, cl->tls_ctx,
			    cl->peer_name) < 0)
				smtp_client_fail(cl, SMTP_FAIL_TLS, "start TLS with %s: "
				    "already active", cl->peer);
			return;
		}
		if (code / 100 == 2 || code / 100 == 3) {
			smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "protocol error: "
			    "host %s answered STARTTLS with: %s", cl->peer, cl->reply);
			return;
		}
		if (cl->tls == SMTP_CLIENT_TLS_MAY) {
			smtp_client_ready(cl);
			return;
		}
		smtp_client_fail(cl, SMTP_FAIL_TLS, "host %s refused STARTTLS: %s",
		    cl->peer, cl->reply);
		return;
	case CS_TRANSACTION:
		smtp_client_tx_reply(cl, dsn);
		return;
	case CS_QUIT:
		cl->state = CS_CLOSED;
		smtp_client_release(cl);
		smtp_client_emit(cl, SMTP_CLIENT_CLOSED);
		return;
	default:
		/*
		 * Idle or sending content, no reply is due: whatever comes (a
		 * 421 before the server hangs up included) ends the session.
		 */
		smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "protocol error: host %s "
		    "sent a reply nobody asked for %s: %s", cl->peer,
		    smtp_client_stage(cl), cl->reply);
		return;
	}
}

/* smtp_client_line - one reply line: collect it, act on the last one */
static void
smtp_client_line(struct smtp_client *cl, const char *line, size_t len)
{
	int code;
	bool last;
	const char *text;
	size_t tlen;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	/*
	 * Reply-code = %x32-35 %x30-35 %x30-39 (RFC 5321 4.2). Outside it
	 * ("081", "600") the first digit says nothing our callers can act on:
	 * code / 100 would be 0 (read as "no reply") or 6 (neither 4 nor 5).
	 */
	if (len < 3 || line[0] < '2' || line[0] > '5' ||
	    line[1] < '0' || line[1] > '5' || !isdigit((unsigned char)line[2]) ||
	    (len > 3 && line[3] != ' ' && line[3] != '-') ||
	    memchr(line, '\0', len) != NULL) {
		smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "malformed reply from %s: "
		    "%.*s", cl->peer, (int)(len > 80 ? 80 : len), line);
		return;
	}
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	last = len == 3 || line[3] == ' ';
	text = len > 4 ? line + 4 : "";
	tlen = len > 4 ? len - 4 : 0;
	if (cl->reply_len == 0) {
		cl->reply_code = code;
		cl->reply_len = (size_t)snprintf(cl->reply, sizeof(cl->reply),
		    "%03d %.*s", code, (int)tlen, text);
		if (tlen == 0)
			cl->reply[--cl->reply_len] = '\0';
	} else if (code != cl->reply_code) {
		smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "malformed reply from %s: "
		    "code %d inside a reply of code %d", cl->peer, code,
		    cl->reply_code);
		return;
	} else if (cl->reply_len < sizeof(cl->reply) - 1) {
		/* Lines of a multi-line reply are joined by spaces, as Postfix logs them. */
		int n = snprintf(cl->reply + cl->reply_len,
		    sizeof(cl->reply) - cl->reply_len, " %.*s", (int)tlen, text);

		cl->reply_len += (size_t)n;
		if (cl->reply_len >= sizeof(cl->reply))
			cl->reply_len = sizeof(cl->reply) - 1;
	}
	/* Every line after the first of an EHLO reply names an extension. */
	if (cl->state == CS_EHLO && cl->reply_lines > 0 && code / 100 == 2) {
		char kw[64];

		snprintf(kw, sizeof(kw), "%.*s", (int)tlen, text);
		smtp_client_ehlo_line(cl, kw);
	}
	cl->reply_lines++;
	if (!last)
		return;
	cl->reply_len = 0;
	cl->reply_lines = 0;
	smtp_client_reply(cl);
}

/* smtp_client_alive - may the client still read and act? */
static bool
smtp_client_alive(const struct smtp_client *cl)
{
	return !cl->dead && cl->st != NULL && cl->state != CS_FAILED &&
	    cl->state != CS_CLOSED;
}

void
smtp_client_stream_io(struct stream *st, unsigned events, void *ctx)
{
	struct smtp_client *cl = ctx;
	const char *line;
	size_t len;
	int r;

	(void)st;
	cl->busy++;
	if ((events & STREAM_EV_TLS) && cl->state == CS_HANDSHAKE) {
		if (smtp_client_tls_check(cl))
			smtp_client_ehlo(cl, false);
	}
	while (smtp_client_alive(cl) && cl->state != CS_HANDSHAKE &&
	    (r = stream_read_line(cl->st, SMTP_CLIENT_LINE_MAX, &line, &len)) != 0) {
		if (r < 0) {
			smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "reply line from %s "
			    "too long", cl->peer);
			break;
		}
		smtp_client_line(cl, line, len);
	}
	if ((events & STREAM_EV_FLUSHED) && smtp_client_alive(cl) &&
	    cl->state == CS_CONTENT)
		smtp_client_pump(cl);
	if ((events & STREAM_EV_ERROR) && smtp_client_alive(cl))
		smtp_client_fail(cl, cl->state == CS_HANDSHAKE ? SMTP_FAIL_TLS :
		    SMTP_FAIL_LOST, "%s with %s %s: %s", cl->state == CS_HANDSHAKE ?
		    "TLS failure" : "lost connection", cl->peer,
		    smtp_client_stage(cl), stream_error(cl->st));
	if ((events & STREAM_EV_EOF) && smtp_client_alive(cl)) {
		if (cl->state == CS_READY || cl->state == CS_QUIT) {
			cl->state = CS_CLOSED;
			smtp_client_release(cl);
			smtp_client_emit(cl, SMTP_CLIENT_CLOSED);
		} else
			smtp_client_fail(cl, cl->state == CS_HANDSHAKE ?
			    SMTP_FAIL_TLS : SMTP_FAIL_LOST, "lost connection with "
			    "%s %s", cl->peer, smtp_client_stage(cl));
	}
	if ((events & STREAM_EV_TIMEOUT) && smtp_client_alive(cl)) {
		if (cl->state == CS_QUIT) {
			cl->state = CS_CLOSED;
			smtp_client_release(cl);
			smtp_client_emit(cl, SMTP_CLIENT_CLOSED);
		} else
			smtp_client_fail(cl, SMTP_FAIL_TIMEOUT, "conversation with "
			    "%s timed out %s", cl->peer, smtp_client_stage(cl));
	}
	smtp_client_settle(cl);
}

/* smtp_client_new - the common part of connect and adopt */
static struct smtp_client *
smtp_client_new(struct ev_loop *loop, const struct smtp_client_params *p,
    smtp_client_fn *fn, void *ctx)
{
	struct smtp_client *cl = xcalloc(1, sizeof(*cl));

	cl->loop = loop;
	cl->connect_fd = -1;
	cl->fn = fn;
	cl->ctx = ctx;
	cl->helo_name = xstrdup(p->helo_name);
	cl->peer_name = xstrdup(p->peer_name != NULL ? p->peer_name : "unknown");
	cl->tls = p->tls;
	if (p->tls_ctx != NULL) {
		SSL_CTX_up_ref(p->tls_ctx);
		cl->tls_ctx = p->tls_ctx;
	} else if (cl->tls != SMTP_CLIENT_TLS_NONE)
		log_panic("smtp_client_new: TLS policy without a TLS context");
	cl->to = p->timeouts;
	return cl;
}

/* smtp_client_peer_text - "name[addr]" of sa for messages */
static void
smtp_client_peer_text(struct smtp_client *cl, const struct sockaddr *sa)
{
	char addr[INET6_ADDRSTRLEN] = "unknown";
	const void *a = NULL;
	unsigned port = 0;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (a != NULL)
		(void)inet_ntop(sa->sa_family, a, addr, sizeof(addr));
	/* The port only where it is not 25: Postfix's "name[addr]:port" otherwise. */
	if (sa->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	if (port != 0 && port != 25)
		snprintf(cl->peer, sizeof(cl->peer), "%s[%s]:%u", cl->peer_name, addr,
		    port);
	else
		snprintf(cl->peer, sizeof(cl->peer), "%s[%s]", cl->peer_name, addr);
}

/* smtp_client_later_fire - an event that must not come from the call itself */
static void
smtp_client_later_fire(void *ctx)
{
	struct smtp_client *cl = ctx;

	cl->later_timer = NULL;
	cl->busy++;
	smtp_client_emit(cl, cl->later_event);
	smtp_client_settle(cl);
}

/* smtp_client_connect_fail - connect() failed, now or later */
static void
smtp_client_connect_fail(struct smtp_client *cl, enum smtp_client_fail f,
    const char *why)
{
	smtp_client_fail(cl, f, "connect to %s: %s", cl->peer, why);
}

/* smtp_client_connected - the socket is writable: did connect() succeed? */
static void
smtp_client_connected(int fd, unsigned events, void *ctx)
{
	struct smtp_client *cl = ctx;
	int e = 0;
	socklen_t elen = sizeof(e);

	(void)events;
	cl->busy++;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
		e = errno;
	if (e != 0) {
		smtp_client_connect_fail(cl, SMTP_FAIL_CONNECT, strerror(e));
		smtp_client_settle(cl);
		return;
	}
	ev_io_del(cl->loop, fd);
	ev_timer_cancel(cl->loop, &cl->connect_timer);
	cl->connect_fd = -1;
	cl->st = stream_new(cl->loop, fd, smtp_client_stream_io, cl);
	cl->own_stream = true;
	if (cl->st == NULL) {
		(void)close(fd);
		smtp_client_connect_fail(cl, SMTP_FAIL_CONNECT, "cannot watch the socket");
		smtp_client_settle(cl);
		return;
	}
	cl->state = CS_BANNER;
	smtp_client_timeout(cl, cl->to.helo_ms);
	smtp_client_settle(cl);
}

/* smtp_client_connect_timeout - connect() took too long */
static void
smtp_client_connect_timeout(void *ctx)
{
	struct smtp_client *cl = ctx;

	cl->connect_timer = NULL;
	cl->busy++;
	smtp_client_connect_fail(cl, SMTP_FAIL_TIMEOUT, "Connection timed out");
	smtp_client_settle(cl);
}

struct smtp_client *
smtp_client_connect(struct ev_loop *loop, const struct sockaddr *sa,
    socklen_t salen, const struct smtp_client_params *params,
    smtp_client_fn *fn, void *ctx)
{
	struct smtp_client *cl = smtp_client_new(loop, params, fn, ctx);
	int fd;

	smtp_client_peer_text(cl, sa);
	cl->state = CS_CONNECTING;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (connect(fd, sa, salen) == 0 || errno == EINPROGRESS)) {
		if (ev_io_add(loop, fd, EV_WRITE, smtp_client_connected, cl) == 0) {
			cl->connect_fd = fd;
			cl->connect_timer = ev_timer_add(loop, cl->to.connect_ms,
			    smtp_client_connect_timeout, cl);
			return cl;
		}
	}
	/* Refused at once (no route, no socket): reported on the next turn. */
	snprintf(cl->fail_text, sizeof(cl->fail_text), "connect to %s: %s",
	    cl->peer, strerror(errno));
	if (fd >= 0)
		(void)close(fd);
	cl->fail = SMTP_FAIL_CONNECT;
	cl->state = CS_FAILED;
	cl->later_event = SMTP_CLIENT_FAILED;
	cl->later_timer = ev_timer_add(loop, 0, smtp_client_later_fire, cl);
	return cl;
}

struct smtp_client *
smtp_client_adopt(struct ev_loop *loop, struct stream *st, bool wait_banner,
    bool own, const struct smtp_client_params *params, smtp_client_fn *fn,
    void *ctx)
{
	struct smtp_client *cl = smtp_client_new(loop, params, fn, ctx);
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getpeername(stream_fd(st), (struct sockaddr *)&ss, &sslen) < 0)
		ss.ss_family = AF_UNSPEC;
	smtp_client_peer_text(cl, (struct sockaddr *)&ss);
	cl->st = st;
	cl->own_stream = own;
	cl->in_call = true;
	if (wait_banner) {
		/*
		 * Whatever the peer sent before it was its turn to speak (the
		 * turn of ODMR comes with our 250 to ATRN) is out of protocol.
		 */
		cl->state = CS_BANNER;
		smtp_client_timeout(cl, cl->to.helo_ms);
		(void)smtp_client_quiet(cl, "turn (its greeting came too early)");
	} else
		smtp_client_ehlo(cl, false);
	cl->in_call = false;
	return cl;
}

void
smtp_client_free(struct smtp_client **clp)
{
	struct smtp_client *cl = *clp;

	if (cl == NULL)
		return;
	*clp = NULL;
	smtp_client_release(cl);
	cl->dead = true;
	if (cl->busy == 0)
		smtp_client_destroy(cl);
}

void
smtp_client_quit(struct smtp_client *cl)
{
	if (cl->state == CS_READY) {
		cl->state = CS_QUIT;
		smtp_client_timeout(cl, cl->to.cmd_ms);
		cl->in_call = true;
		(void)smtp_client_command(cl, "QUIT", NULL);
		cl->in_call = false;
		return;
	}
	if (cl->state == CS_CLOSED || cl->state == CS_FAILED)
		return;
	/* Mid-conversation: no polite way out; just hang up. */
	cl->state = CS_CLOSED;
	smtp_client_release(cl);
	cl->later_event = SMTP_CLIENT_CLOSED;
	cl->later_timer = ev_timer_add(cl->loop, 0, smtp_client_later_fire, cl);
}

bool
smtp_client_idle(const struct smtp_client *cl)
{
	return cl->state == CS_READY;
}

enum smtp_client_fail
smtp_client_failure(const struct smtp_client *cl, const char **text_r)
{
	if (text_r != NULL)
		*text_r = cl->fail_text;
	return cl->fail;
}

unsigned
smtp_client_extensions(const struct smtp_client *cl)
{
	return cl->ext;
}

uint64_t
smtp_client_size_limit(const struct smtp_client *cl)
{
	return cl->size_limit;
}

bool
smtp_client_tls_active(const struct smtp_client *cl)
{
	return cl->st != NULL && stream_tls_active(cl->st);
}

const char *
smtp_client_banner(const struct smtp_client *cl)
{
	return cl->banner != NULL ? cl->banner : "";
}

unsigned
smtp_client_transactions(const struct smtp_client *cl)
{
	return cl->ntx;
}
