/*
 * turn - the site side of sluice (sluice-turn(1)): the customer's
 * program that releases its mail from every MX of its ISP and follows
 * the release until everything has arrived.
 *
 *	turn.c		main: options, config file, the subcommand table
 *	turn_report.c	the result lines (stderr, syslog), the time grammar
 *	turn_mx.c	the MX set of a domain (DNS through mail/dns.h),
 *			without the site's own addresses
 *	turn_conn.c	one blocking TCP (and TLS) connection with a
 *			deadline on every read and write
 *	turn_etrn.c	ETRN (RFC 1985) to every MX, the retry series and
 *			the link-up / link-down commands
 *	turn_finger.c	the finger (RFC 1288) status query and its parser
 *	turn_wait.c	wait (until delivered) and check (thresholds)
 *
 * Every MX is a peer we do not trust: its replies are bounded in length
 * and count, and its numbers in range, before anything is believed.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_TURN_H
#define SLUICE_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

/* Exit status of check when the thresholds are not met (as test(1)). */
#define TURN_EXIT_NOT_MET	1

/* The longest line we read from an MX (SMTP or finger), CRLF included. */
#define TURN_LINE_MAX		1024
/* The longest line of a finger answer we believe. */
#define TURN_FINGER_LINE_MAX	512
/* How a fingerd that does not know "?DOMAIN" answers it (fingerd(8sluice)). */
#define TURN_FINGER_NOT_DOMAIN	"Not a domain name."
/* The most lines of one SMTP reply, and of one finger answer. */
#define TURN_REPLY_LINES_MAX	64
/* The longest finger answer read, in bytes. */
#define TURN_FINGER_MAX		8192
/* Values beyond these in a finger answer are absurd: the MX is lying. */
#define TURN_MESSAGES_MAX	100000000ULL		/* 1e8 messages */
#define TURN_BYTES_MAX		(1ULL << 50)		/* 1 PiB */
#define TURN_AGE_MAX		(3650LL * 86400)	/* ten years */

/* --tls: index into "none may encrypt" */
enum turn_tls {
	TURN_TLS_NONE = 0,
	TURN_TLS_MAY,
	TURN_TLS_ENCRYPT,
};

/* Everything the options and the config file set; see sluice-turn(1). */
struct turn_opts {
	const char *dns_servers;	/* -D: "127.0.0.1:5353"; NULL: resolv.conf */
	unsigned port;			/* --port: SMTP, 25 */
	unsigned finger_port;		/* --finger-port: 79 */
	const char *bind;		/* --bind: our source address, or NULL */
	char **self;			/* --self: numeric addresses of the site */
	size_t nself;
	enum turn_tls tls;		/* --tls: may */
	const char *helo;		/* --helo: gethostname() */
	const char *auth_user;		/* --auth-user */
	const char *auth_file;		/* --auth-password-file */
	uint64_t *retry;		/* --retry: pauses (s) between rounds */
	size_t nretry;
	const char *link_up;		/* --link-up: shell command */
	const char *link_down;		/* --link-down */
	long timeout;			/* --timeout (s): wait's limit, 3600 */
	long interval;			/* --interval (s): wait's polls, 5 */
	long io_timeout;		/* --io-timeout (s): each read/write, 60 */
	long long messages;		/* --messages: check, -1 unset */
	long long bytes;		/* --bytes: check, -1 unset */
	long long older_than;		/* --older-than (s): check, -1 unset */
	const char *server;		/* --server: atrn's ODMR server */
	unsigned odmr_port;		/* --odmr-port: 366 */
	bool odmrs;			/* --odmrs: TLS on connect (atrn) */
	const char *ca_file;		/* --ca-file: atrn's extra trust anchors */
	bool verify;			/* --verify: atrn checks the certificate */
	const char *mta;		/* --mta: atrn hands mail to, 127.0.0.1 */
	unsigned mta_port;		/* --mta-port: 25, or 24 with --lmtp */
	bool lmtp;			/* --lmtp: speak LMTP to the MTA */
	bool syslog;			/* -s: result lines to syslog too */
	bool verbose;			/* -v: the dialogue on stderr */
};

/* One MX host of a domain and the addresses to try, in order. */
struct turn_mx {
	char *domain;		/* the domain it is an MX of (borrowed) */
	char *host;		/* "mx1.isp.example" */
	unsigned pref;
	bool finger_plain;	/* its fingerd does not know "?DOMAIN" */
	size_t naddr;
	struct sockaddr_storage *addr;	/* port 0 */
	socklen_t *addrlen;
};

struct turn_mx_set {
	size_t n;
	struct turn_mx *v;
};

/* turn_mx.c */

/*
 * turn_mx_resolve - the MX hosts of every domain with their addresses,
 * without the site's own addresses (local interfaces and opts->self);
 * a host left with none is logged as skipped and left out. A domain
 * without MX records has its own name as the MX (RFC 5321 5.1).
 * Returns 0 with *set_r filled, or a sysexits code: EX_NOHOST (no such
 * domain, null MX, or no MX but the site), EX_TEMPFAIL (DNS failed),
 * EX_CONFIG (the -D list does not parse).
 */
int turn_mx_resolve(const struct turn_opts *opts, char *const *domains,
    size_t ndomains, struct turn_mx_set *set_r);
/* turn_mx_set_clear - free the hosts and addresses and empty the set */
void turn_mx_set_clear(struct turn_mx_set *set);
/* turn_addr_text - "mx1.isp.example[192.0.2.1]:25" in buf */
void turn_addr_text(const struct turn_mx *mx, size_t i, unsigned port,
    char *buf, size_t size);

/* turn_conn.c */

/* One blocking connection; every read and write has timeout_ms. */
struct turn_conn {
	int fd;
	SSL *ssl;		/* after turn_conn_starttls */
	int timeout_ms;
	size_t len, off;	/* unread input is buf[off..len) */
	char buf[4096];
	char err[128];		/* why the last call failed */
};

/*
 * turn_conn_open - connect to sa:port within timeout_ms, from the
 * numeric address bind when it is not NULL and of sa's family. 0, or -1
 * with c->err ("connect: Connection refused", "connect: timeout ...").
 */
int turn_conn_open(struct turn_conn *c, const struct sockaddr *sa,
    socklen_t len, unsigned port, const char *bind, int timeout_ms);
/* turn_conn_write - all of s (len bytes); 0/-1 with c->err */
int turn_conn_write(struct turn_conn *c, const char *s, size_t len);
/*
 * turn_conn_line - the next line without its CRLF (or LF) into line
 * (size bytes, size <= TURN_LINE_MAX); 0, or -1 with c->err on timeout,
 * EOF, an error or a line longer than size - 1.
 */
int turn_conn_line(struct turn_conn *c, char *line, size_t size);
/*
 * turn_conn_read_all - everything up to the peer's close into buf (size
 * bytes, not terminated), its length in *len_r; 0, or -1 with c->err on
 * a timeout, an error or more than size bytes.
 */
int turn_conn_read_all(struct turn_conn *c, char *buf, size_t size,
    size_t *len_r);
/* turn_conn_starttls - TLS client handshake (any certificate); 0/-1 */
int turn_conn_starttls(struct turn_conn *c, SSL_CTX *ctx, const char *sni);
/* turn_conn_close - close the connection (no shutdown alert wait) */
void turn_conn_close(struct turn_conn *c);

/* turn_report.c */

/* turn_report - one result line to stderr ("sluice-turn: ...") and syslog */
void turn_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* turn_report_syslog - from now on, result lines go to syslog (mail) too */
void turn_report_syslog(void);
/* turn_parse_time - "90", "90s", "5m", "2h", "1d" in seconds; 0/-1 */
int turn_parse_time(const char *s, long long *secs_r);

/* turn_etrn.c */

/*
 * turn_etrn_run - ETRN to every MX of every domain, in rounds paced by
 * opts->retry (only the MXes that failed temporarily go again), with
 * the link commands around them. Returns the exit status: 0, EX_TEMPFAIL
 * (a host still failed temporarily, DNS failed, or link-up failed),
 * EX_UNAVAILABLE (a host refused), EX_NOHOST, EX_CONFIG (-D), EX_SOFTWARE
 * (no TLS context).
 */
int turn_etrn_run(const struct turn_opts *opts, char *const *domains,
    size_t ndomains);

/*
 * turn_link_cmd - run a link command (--link-up, --link-down) with sh -c
 * and report how it ended; 0 if it exited 0, else -1.
 */
int turn_link_cmd(const char *what, const char *cmd);
/* turn_pause - sleep secs seconds, whole, even when a signal wakes us */
void turn_pause(uint64_t secs);
/*
 * turn_password_read - the first line of file (the AUTH password), a new
 * string; NULL with the reason in why (size bytes).
 */
char *turn_password_read(const char *file, char *why, size_t size);

/* turn_atrn.c */

/*
 * turn_atrn_run - log in to the ODMR server (--server), ATRN for the
 * domains, and hand each message of the turned connection to the local
 * MTA (lib/mail/odmr_client), in rounds paced by opts->retry while the
 * result is temporary, with the link commands around them. Returns
 * odmr_client_run's sysexits code of the last round, or EX_USAGE /
 * EX_NOINPUT for missing options or an unreadable password file.
 */
int turn_atrn_run(const struct turn_opts *opts, char *const *domains,
    size_t ndomains);

/* turn_finger.c */

/* What "Delivery:" says. */
enum turn_delivery {
	TURN_DELIVERY_UNKNOWN = 0,	/* not given (an older fingerd) */
	TURN_DELIVERY_FINISHED,
	TURN_DELIVERY_IN_PROGRESS,
	TURN_DELIVERY_FAILING,
	TURN_DELIVERY_WAITING,		/* waiting for the gate */
};

/* One MX's status of one domain, as its finger answer gives it. */
struct turn_status {
	unsigned long long waiting;	/* Messages waiting (required) */
	unsigned long long in_flight;	/* In flight; 0 if not given */
	unsigned long long delivered;	/* Delivered since the gate opened */
	unsigned long long bytes;	/* Bytes waiting; 0 if not given */
	long long oldest;		/* Oldest, seconds ago; -1 for "-" */
	enum turn_delivery delivery;
	char detail[160];		/* "finished at ..." or the failing text */
	bool have_bytes, have_in_flight;
};

/*
 * turn_finger_parse - the status of domain in a finger answer ("Name:
 * value" lines, CRLF or LF). Unknown names are ignored. 0; 1 when the
 * answer is no status at all (neither "Domain" nor "Messages waiting":
 * "Not a domain name.", as an older fingerd answers "?DOMAIN"); -1 with
 * a reason in why (size bytes) when it is the status of another domain,
 * lacks "Messages waiting", has an absurd value, a line longer than
 * TURN_FINGER_LINE_MAX or a name given twice.
 */
int turn_finger_parse(const char *text, size_t len, const char *domain,
    struct turn_status *st_r, char *why, size_t size);
/*
 * turn_finger_query - ask mx (the first of its addresses that answers)
 * for domain's status with "?DOMAIN" ("/W ?DOMAIN" if verbose), and
 * with the plain form if the server does not know that one (an older
 * fingerd, which also takes it as a release; remembered in mx, so that
 * later polls ask once). 0 with *st_r and the address that answered in
 * addr (asize bytes), or -1 with why.
 */
int turn_finger_query(const struct turn_opts *opts, struct turn_mx *mx,
    bool verbose, struct turn_status *st_r, char *addr, size_t asize,
    char *why, size_t size);

/* turn_wait.c */

/*
 * turn_wait_run - poll every MX every opts->interval until each has
 * reported, for every domain, nothing waiting and nothing in flight (a
 * host done stays done). 0; EX_TEMPFAIL at opts->timeout (the hosts not
 * done are named); EX_NOHOST or EX_CONFIG from the MX lookup.
 */
int turn_wait_run(const struct turn_opts *opts, char *const *domains,
    size_t ndomains);
/*
 * turn_check_run - the messages and bytes waiting, summed over every
 * domain and MX, and the oldest of all, against opts' thresholds (none
 * given: one message). 0 if one is met; TURN_EXIT_NOT_MET if none is
 * and every MX answered; EX_TEMPFAIL if none is and one did not; the
 * MX lookup's sysexits code.
 */
int turn_check_run(const struct turn_opts *opts, char *const *domains,
    size_t ndomains);

#endif
