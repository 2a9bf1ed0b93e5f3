/*
 * config - sluice.conf: the parameters of every sluice program.
 *
 * File format (sluice.conf(5), as Postfix main.cf):
 *
 *	# comment
 *	name = value
 *	name = a long value that goes on
 *	    on the next line, because that line starts with white space
 *
 * Values may refer to other parameters as $name or ${name} (expanded
 * recursively, loops are errors); "$$" is a literal "$". Unknown names
 * are errors; a name given twice takes the last value, with a warning.
 *
 * Every parameter is one row of the table in config.c (name, type,
 * default, field): defaults, `sluice config -d`, config_get() and the
 * list in man/sluice.conf.5 all come from that table, and a unit test
 * checks that the man page names every row.
 *
 * config_load() then reads the domains table (domains.h) named by
 * domains_file. Errors are collected, not printed: the caller decides
 * whether they go to stderr (`sluice config check`) or to the log.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_CONF_H
#define SLUICE_MAIL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mail/domains.h"
#include "mail/netlist.h"

/* One listening address: host "" means every address ("*:25", ":25", "25"). */
struct hostport {
	char *host;		/* without brackets: "127.0.0.1", "::1", "" */
	char *port;		/* numeric or a service name */
};

/* A list of listening addresses; n == 0 means "do not listen". */
struct hostport_list {
	size_t n;
	struct hostport *v;
};

/* smtpd_tls_security_level: index into the choices "none may". */
enum smtpd_tls_level {
	SMTPD_TLS_NONE = 0,
	SMTPD_TLS_MAY = 1,
};

/* smtpd_forbid_bare_newline: index into the choices "normalize yes". */
enum smtpd_bare_newline {
	SMTPD_BARE_NEWLINE_NORMALIZE = 0,	/* a command may end in LF */
	SMTPD_BARE_NEWLINE_YES = 1,		/* 521 and disconnect */
};

/*
 * One field per parameter, named like the parameter. Times are seconds,
 * sizes bytes. Strings are never NULL ("" when empty). All of it is
 * owned by the struct and freed by config_free().
 */
struct config {
	char *config_directory;
	char *queue_directory;
	char *daemon_directory;
	char *myhostname;
	char *mydomain;
	char *mail_owner;
	char *operator_group;	/* may use the control socket besides root and mail_owner; "" none */

	struct hostport_list smtp_listen;
	struct hostport_list submission_listen;
	struct hostport_list odmr_listen;
	struct hostport_list finger_listen;
	struct hostport_list web_listen;

	char *smtpd_banner;
	long smtpd_process_limit;
	long smtpd_commit_threads;	/* workers fsyncing queue files */
	long smtpd_connection_limit;	/* sessions per smtpd process */
	long smtpd_client_connection_limit; /* sessions per client address */
	long smtpd_timeout;
	long smtpd_data_timeout;
	long smtpd_recipient_limit;
	long smtpd_line_limit;		/* longest data line, CRLF included */
	long smtpd_hard_error_limit;
	long smtpd_soft_error_limit;	/* after it, each error reply waits 1s */
	long message_size_limit;
	long hopcount_limit;		/* Received: headers a message may carry */
	char *smtpd_tls_cert_file;
	char *smtpd_tls_key_file;	/* "": self-signed, under private/ */
	enum smtpd_tls_level smtpd_tls_security_level;

	long queue_minfree;		/* 0: see config_queue_minfree() */
	long queue_index_cache_size;	/* the index's Berkeley DB cache, bytes (qindex.h) */
	char *log_file;			/* "": syslog */
	char *syslog_facility;		/* "mail", "daemon", "local0".. */
	char *domains_file;
	char *passwd_file;
	struct netlist *mynetworks;
	struct netlist *smtpd_relay_networks;	/* may relay anywhere without AUTH */

	enum domain_mode default_domain_mode;
	long default_lease;
	long maximal_queue_lifetime;
	long delay_warning_time;
	long default_probe_interval;
	long probe_max;
	long master_restart_delay;
	long master_restart_max;
	long qmgr_client_timeout;
	long minimal_backoff_time;	/* first retry delay of deferred mail */
	long maximal_backoff_time;	/* longest retry delay */
	long deliver_concurrency_limit;	/* jobs at once per deliver process */
	long deliver_domain_concurrency_limit; /* connections per domain */
	long notify_interval;	/* how often customers with notify= hear about bounces to come */
	long trigger_client_limit;	/* triggers per client address per minute */
	long trigger_min_interval;	/* a trigger this soon after another joins its flush */
	bool smtpd_tls_auth_only;	/* AUTH is offered only after STARTTLS */
	char *double_bounce_recipient;	/* where failed null-sender mail is reported; "" drops it */
	struct hostport_list dns_servers;	/* DNS servers for deliver; empty: resolv.conf */
	long deliver_process_limit;	/* deliver processes master runs */
	long smtp_connect_timeout;	/* deliver: TCP connect */
	long smtp_helo_timeout;	/* deliver: banner and EHLO */
	long smtp_timeout;	/* deliver: MAIL, RCPT, RSET, QUIT */
	long smtp_data_timeout;	/* deliver: DATA and the end of data */
	long smtp_data_done_timeout;	/* deliver: reply after the final dot */
	long smtp_mx_port;	/* deliver: port of MX hosts (25; tests use others) */
	char *smtp_helo_name;	/* deliver's EHLO name */
	struct hostport_list odmrs_listen;	/* ODMR with TLS on connect */
	long odmr_timeout;	/* ODMR: per command */
	long auth_failure_delay;	/* pause after a failed login */
	long auth_failure_limit;	/* failed logins before disconnect */
	long finger_timeout;	/* finger: query line */
	char *web_tls_cert_file;	/* web: HTTPS certificate; "" plain HTTP */
	char *web_tls_key_file;	/* web: HTTPS key */
	long web_refresh;	/* web: status page refresh */
	long web_login_limit;	/* web: logins per client per minute */
	long probe_timeout;	/* prober, and qmgr's route=client probe: connect and banner */
	long smtpd_pregreet_wait;	/* silence before the 220; 0: none */
	enum smtpd_bare_newline smtpd_forbid_bare_newline;
	char *smtpd_forbidden_commands;	/* verbs that end the session (HTTP) */
	char *web_hostnames;	/* web: Host names served, besides the address */
	long auth_lockout_failures;	/* failed logins of one name before a lockout; 0: never */
	long auth_client_lockout_failures; /* failed logins from one address; 0: never */
	long auth_lockout_time;	/* the failures counted, and the lockout's length */
	/* Deadlines and limits at every door (no progress moves a deadline). */
	long smtpd_command_deadline;	/* smtpd: a command line, first octet to LF */
	long smtpd_data_deadline;	/* smtpd: DATA, the 354 to the final dot */
	long smtpd_session_deadline;	/* smtpd: a whole connection */
	long odmr_command_deadline;	/* ODMR: a command line */
	long odmr_session_deadline;	/* ODMR: connect to the turn (ATRN) */
	long odmr_client_connection_limit; /* ODMR: sessions per client address */
	long web_request_deadline;	/* web: one request, with its headers */
	long web_connection_limit;	/* web: connections at once */
	long web_client_connection_limit; /* web: connections per client address */
	long odmr_atrn_interval;	/* ODMR: one ATRN per login in this time; 0: no limit */
	/* The fleet (mail/peer.h, mail/home.h): the other sluice hosts of this service. */
	struct hostport_list peers;	/* their SMTP listeners; empty: no fleet */
	char *fleet_name;	/* this host as the peers lists name it; "": from smtp_listen (home.h) */
	long fleet_relay_interval;	/* how often held mail goes to its home host; 0: on triggers only */
	char *peer_secret_file;	/* the secret every peer shares */
	long peer_retry_limit;	/* tries of one pass to a peer that fails */
	long peer_retry_delay;	/* pause after the first failed try, doubling */
	long peer_timeout;	/* one try, connect to the last reply */
	long master_status_interval;	/* how often master tells systemd STATUS= */
	char *syslog_name;	/* log lines say "syslog_name/smtpd[PID]:" (util/log.h) */
	char *web_title;	/* web: the service's name in the page title and heading */
	long default_max_messages;	/* domains' max_messages (quota.h); 0 none */
	long default_max_bytes;	/* domains' max_bytes; 0 none */
	/* The POP3 maildrop door (pop3(8sluice)). */
	struct hostport_list pop3_listen;	/* POP3, STLS offered with a certificate */
	struct hostport_list pop3s_listen;	/* POP3 with TLS on connect */
	bool default_pop3;	/* pop3= of a domain that does not say */
	long pop3_timeout;	/* POP3: idle between commands */
	long pop3_command_deadline;	/* POP3: a command line */
	long pop3_session_deadline;	/* POP3: a whole connection */
	long pop3_client_connection_limit; /* POP3: sessions per client address */
	bool pop3_plaintext_loopback;	/* POP3: USER/PASS, PLAIN, LOGIN without TLS from loopback */
	bool dns_check;		/* DNS setup check of every domain at config check, start, reload */

	/* The customer domains, from domains_file. Never NULL after a load. */
	struct domain_table *domains;

	/* Private to config.c: text of every parameter, and which were set. */
	char **param_text;
	bool *param_set;
};

/*
 * Messages from a load: "FILE:LINE: what is wrong; how to fix it".
 * A load fails (-1) if and only if n > 0; warnings (duplicate settings)
 * do not fail it.
 */
struct config_errors {
	size_t n;
	char **msg;
	size_t nwarn;
	char **warn;
};

enum config_print_mode {
	CONFIG_PRINT_NONDEFAULT,	/* set in the file (postconf -n) */
	CONFIG_PRINT_DEFAULTS,		/* every default (postconf -d) */
	CONFIG_PRINT_ALL,		/* every effective value (postconf) */
};

/*
 * config_load - read config_dir/sluice.conf, then domains_file.
 * config_dir NULL means config_default_dir(). A missing sluice.conf is an
 * error (a missing domains file too). On success stores a new config in
 * *cfg_r and returns 0; on failure returns -1, *cfg_r is NULL and every
 * error found is in errs (errs may be NULL: then they are logged).
 */
int config_load(const char *config_dir, struct config **cfg_r,
    struct config_errors *errs);

/*
 * config_load_from - config_load() reading file instead of
 * config_dir/sluice.conf (an edited copy, before it replaces the file);
 * messages name shown instead of file.
 */
int config_load_from(const char *config_dir, const char *file, const char *shown,
    struct config **cfg_r, struct config_errors *errs);

/* config_free - free a config and set *cfgp to NULL */
void config_free(struct config **cfgp);

/* config_default_dir - $SLUICE_CONFIG_DIR if set, else SLUICE_SYSCONFDIR */
const char *config_default_dir(void);

/*
 * config_print - "name = value" lines, sorted by name. Values are printed
 * as they are effective (expanded, "$" doubled), so the output can be read
 * back by config_load() with the same result. CONFIG_PRINT_DEFAULTS
 * prints the defaults unexpanded, as postconf -d does; cfg may be NULL
 * for it.
 */
void config_print(FILE *fp, const struct config *cfg,
    enum config_print_mode mode);

/*
 * config_get - the effective value of one parameter as text, in a new
 * string *value_r. 0 ok; -1 if name is no parameter.
 */
int config_get(const struct config *cfg, const char *name, char **value_r);

/* config_param_known - is name a sluice.conf parameter? */
bool config_param_known(const char *name);

/* config_param_names - NULL-terminated array of every parameter name, in
 * table order; static, do not free. */
const char *const *config_param_names(void);

/* config_queue_minfree - the effective free-space floor in bytes */
long config_queue_minfree(const struct config *cfg);

/* config_errors_add - append "fmt..." to the errors */
void config_errors_add(struct config_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* config_errors_warn - append "fmt..." to the warnings */
void config_errors_warn(struct config_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* config_errors_clear - free the messages, leaving errs empty for reuse */
void config_errors_clear(struct config_errors *errs);

/*
 * Value parsers shared with domains.c, one place for each grammar.
 * Each returns 0 and stores the value, or -1 and sets *hint_r to a static
 * "bad ... value; use ..." text for the error message.
 */
/* config_parse_time - "30", "30s", "10m", "2h", "5d", "1w" -> seconds */
int config_parse_time(const char *s, long *secs_r, const char **hint_r);
/* config_parse_size - "1024", "10k", "10M", "1G" (powers of 1024) */
int config_parse_size(const char *s, long *bytes_r, const char **hint_r);
/* config_parse_int - a plain whole number */
int config_parse_int(const char *s, long *val_r, const char **hint_r);
/* config_parse_bool - "yes" / "no" */
int config_parse_bool(const char *s, bool *b_r, const char **hint_r);
/* config_parse_hostports - "127.0.0.1:25, [::1]:25 *:587"; frees nothing */
int config_parse_hostports(const char *s, struct hostport_list *l_r,
    const char **hint_r);
/* config_hostports_clear - free the entries and empty the list */
void config_hostports_clear(struct hostport_list *l);
/*
 * config_list_next - the next item of a list whose items are separated by
 * commas and/or white space: returns its start and length in *len_r and
 * advances *sp past it; NULL at the end.
 */
const char *config_list_next(const char **sp, size_t *len_r);

#endif
