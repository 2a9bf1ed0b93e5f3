/*
 * config - sluice.conf parameters: the table, the loader, the printer
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/address.h"
#include "mail/conf.h"
#include "mail/config_int.h"
#include "mail/domains.h"
#include "mail/home.h"
#include "mail/netlist.h"
#include "mail/qindex.h"
#include "util/log.h"
#include "util/xmalloc.h"

#ifndef SLUICE_SYSCONFDIR
#define SLUICE_SYSCONFDIR "/etc/sluice"
#endif
#ifndef SLUICE_SPOOLDIR
#define SLUICE_SPOOLDIR "/var/spool/sluice"
#endif
#ifndef SLUICE_LIBEXECDIR
#define SLUICE_LIBEXECDIR "/usr/libexec/sluice"
#endif

#define CONFIG_FILE_NAME "sluice.conf"

/*
 * Longest value after expansion: "a = $b$b", "b = $c$c", ... would
 * otherwise double at each step and exhaust memory in `config check`.
 */
#define CONFIG_VALUE_MAX 65536

/* PT_ENUM fields are written through an int pointer. */
_Static_assert(sizeof(enum smtpd_tls_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum domain_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum smtpd_bare_newline) == sizeof(int), "enum size");

#define F(field) .offset = offsetof(struct config, field)

/*
 * The one table of parameters (STYLE rule 13). Keep man/sluice.conf.5 in
 * step: t/config_test.c fails when a name here is missing there.
 */
const struct param params[] = {
	{ "config_directory", PT_STRING, NULL, F(config_directory), .dyn = DYN_CONFIG_DIR },
	{ "queue_directory", PT_STRING, SLUICE_SPOOLDIR, F(queue_directory) },
	{ "daemon_directory", PT_STRING, SLUICE_LIBEXECDIR, F(daemon_directory) },
	{ "myhostname", PT_STRING, NULL, F(myhostname), .dyn = DYN_HOSTNAME },
	{ "mydomain", PT_STRING, NULL, F(mydomain), .dyn = DYN_DOMAIN },
	{ "mail_owner", PT_STRING, "sluice", F(mail_owner) },
	{ "operator_group", PT_STRING, "", F(operator_group) },
	{ "smtp_listen", PT_HOSTPORTS, "0.0.0.0:25", F(smtp_listen) },
	{ "submission_listen", PT_HOSTPORTS, "", F(submission_listen) },
	{ "odmr_listen", PT_HOSTPORTS, "", F(odmr_listen) },
	{ "finger_listen", PT_HOSTPORTS, "", F(finger_listen) },
	{ "web_listen", PT_HOSTPORTS, "", F(web_listen) },
	{ "smtpd_banner", PT_STRING, "$myhostname ESMTP sluice", F(smtpd_banner) },
	{ "smtpd_process_limit", PT_INT, "1", F(smtpd_process_limit), .min = 1 },
	/* Worker threads per smtpd that wait on the disk for commits (issue 12). */
	{ "smtpd_commit_threads", PT_INT, "8", F(smtpd_commit_threads), .min = 1, .max = 64 },
	{ "smtpd_connection_limit", PT_INT, "1000", F(smtpd_connection_limit), .min = 1 },
	{ "smtpd_client_connection_limit", PT_INT, "20", F(smtpd_client_connection_limit), .min = 1 },
	{ "smtpd_timeout", PT_TIME, "300s", F(smtpd_timeout), .min = 1 },
	{ "smtpd_data_timeout", PT_TIME, "600s", F(smtpd_data_timeout), .min = 1 },
	{ "smtpd_recipient_limit", PT_INT, "1000", F(smtpd_recipient_limit), .min = 1 },
	/* RFC 5321 4.5.3.1.6 allows 1000 octets; we take more, as MTAs do. */
	{ "smtpd_line_limit", PT_INT, "2048", F(smtpd_line_limit), .min = 1000 },
	{ "smtpd_hard_error_limit", PT_INT, "20", F(smtpd_hard_error_limit), .min = 1 },
	{ "smtpd_soft_error_limit", PT_INT, "10", F(smtpd_soft_error_limit), .min = 0 },
	{ "message_size_limit", PT_SIZE, "10240000", F(message_size_limit) },
	/* Postfix's default: a message that went round this often loops. */
	{ "hopcount_limit", PT_INT, "50", F(hopcount_limit), .min = 1 },
	{ "smtpd_tls_cert_file", PT_STRING, "", F(smtpd_tls_cert_file) },
	{ "smtpd_tls_key_file", PT_STRING, "", F(smtpd_tls_key_file) },
	{ "smtpd_tls_security_level", PT_ENUM, "may", F(smtpd_tls_security_level), .choices = "none may" },
	{ "queue_minfree", PT_SIZE, "0", F(queue_minfree) },
	/* Why this default: QINDEX_CACHE_DEFAULT in lib/mail/qindex.h. */
	{ "queue_index_cache_size", PT_SIZE, QINDEX_CACHE_DEFAULT_TEXT, F(queue_index_cache_size),
	  .min = QINDEX_CACHE_MIN, .max = QINDEX_CACHE_MAX },
	{ "log_file", PT_STRING, "", F(log_file) },
	{ "syslog_facility", PT_WORD, "mail", F(syslog_facility),
	  .choices = "mail daemon user local0 local1 local2 local3 local4 local5 local6 local7" },
	{ "domains_file", PT_STRING, "$config_directory/domains", F(domains_file) },
	{ "passwd_file", PT_STRING, "$config_directory/passwd", F(passwd_file) },
	{ "mynetworks", PT_NETLIST, "127.0.0.0/8 [::1]/128", F(mynetworks) },
	{ "smtpd_relay_networks", PT_NETLIST, "", F(smtpd_relay_networks) },
	{ "default_domain_mode", PT_ENUM, "hold", F(default_domain_mode), .choices = "hold backup" },
	{ "default_lease", PT_TIME, "10m", F(default_lease), .min = 1 },
	{ "maximal_queue_lifetime", PT_TIME, "5d", F(maximal_queue_lifetime), .min = 1 },
	{ "delay_warning_time", PT_TIME, "24h", F(delay_warning_time) },
	{ "default_probe_interval", PT_TIME, "15m", F(default_probe_interval) },
	{ "probe_max", PT_TIME, "15m", F(probe_max), .min = 1 },
	{ "master_restart_delay", PT_TIME, "1s", F(master_restart_delay), .min = 1 },
	{ "master_restart_max", PT_TIME, "60s", F(master_restart_max), .min = 1 },
	{ "qmgr_client_timeout", PT_TIME, "60s", F(qmgr_client_timeout), .min = 1 },
	{ "minimal_backoff_time", PT_TIME, "300s", F(minimal_backoff_time), .min = 1 },
	{ "maximal_backoff_time", PT_TIME, "4000s", F(maximal_backoff_time), .min = 1 },
	{ "deliver_concurrency_limit", PT_INT, "20", F(deliver_concurrency_limit), .min = 1 },
	{ "deliver_domain_concurrency_limit", PT_INT, "5", F(deliver_domain_concurrency_limit), .min = 1 },
	{ "notify_interval", PT_TIME, "24h", F(notify_interval), .min = 1 },
	{ "trigger_client_limit", PT_INT, "30", F(trigger_client_limit), .min = 1 },
	{ "trigger_min_interval", PT_TIME, "2s", F(trigger_min_interval) },
	{ "smtpd_tls_auth_only", PT_BOOL, "yes", F(smtpd_tls_auth_only) },
	{ "double_bounce_recipient", PT_STRING, "", F(double_bounce_recipient) },
	{ "dns_servers", PT_HOSTPORTS, "", F(dns_servers) },
	{ "deliver_process_limit", PT_INT, "1", F(deliver_process_limit), .min = 1 },
	{ "smtp_connect_timeout", PT_TIME, "30s", F(smtp_connect_timeout), .min = 1 },
	{ "smtp_helo_timeout", PT_TIME, "300s", F(smtp_helo_timeout), .min = 1 },
	{ "smtp_timeout", PT_TIME, "300s", F(smtp_timeout), .min = 1 },
	{ "smtp_data_timeout", PT_TIME, "180s", F(smtp_data_timeout), .min = 1 },
	{ "smtp_data_done_timeout", PT_TIME, "600s", F(smtp_data_done_timeout), .min = 1 },
	{ "smtp_mx_port", PT_INT, "25", F(smtp_mx_port), .min = 1, .max = 65535 },
	{ "smtp_helo_name", PT_STRING, "$myhostname", F(smtp_helo_name) },
	{ "odmrs_listen", PT_HOSTPORTS, "", F(odmrs_listen) },
	{ "odmr_timeout", PT_TIME, "300s", F(odmr_timeout), .min = 1 },
	{ "auth_failure_delay", PT_TIME, "2s", F(auth_failure_delay), .min = 1 },
	{ "auth_failure_limit", PT_INT, "5", F(auth_failure_limit), .min = 1 },
	{ "finger_timeout", PT_TIME, "10s", F(finger_timeout), .min = 1 },
	{ "web_tls_cert_file", PT_STRING, "", F(web_tls_cert_file) },
	{ "web_tls_key_file", PT_STRING, "", F(web_tls_key_file) },
	{ "web_refresh", PT_TIME, "60s", F(web_refresh), .min = 1 },
	{ "web_login_limit", PT_INT, "10", F(web_login_limit), .min = 1 },
	{ "probe_timeout", PT_TIME, "10s", F(probe_timeout), .min = 1 },
	{ "smtpd_pregreet_wait", PT_TIME, "1s", F(smtpd_pregreet_wait), .min = 0 },
	{ "smtpd_forbid_bare_newline", PT_ENUM, "yes", F(smtpd_forbid_bare_newline), .choices = "normalize yes" },
	{ "smtpd_forbidden_commands", PT_STRING, "CONNECT GET POST", F(smtpd_forbidden_commands) },
	{ "web_hostnames", PT_STRING, "$myhostname", F(web_hostnames) },
	{ "auth_lockout_failures", PT_INT, "5", F(auth_lockout_failures), .min = 0 },
	{ "auth_client_lockout_failures", PT_INT, "10", F(auth_client_lockout_failures), .min = 0 },
	{ "auth_lockout_time", PT_TIME, "15m", F(auth_lockout_time), .min = 1 },
	{ "smtpd_command_deadline", PT_TIME, "300s", F(smtpd_command_deadline), .min = 1 },
	{ "smtpd_data_deadline", PT_TIME, "30m", F(smtpd_data_deadline), .min = 1 },
	{ "smtpd_session_deadline", PT_TIME, "1h", F(smtpd_session_deadline), .min = 1 },
	{ "odmr_command_deadline", PT_TIME, "300s", F(odmr_command_deadline), .min = 1 },
	{ "odmr_session_deadline", PT_TIME, "10m", F(odmr_session_deadline), .min = 1 },
	{ "odmr_client_connection_limit", PT_INT, "10", F(odmr_client_connection_limit), .min = 1 },
	{ "web_request_deadline", PT_TIME, "30s", F(web_request_deadline), .min = 1 },
	{ "web_connection_limit", PT_INT, "512", F(web_connection_limit), .min = 1 },
	{ "web_client_connection_limit", PT_INT, "8", F(web_client_connection_limit), .min = 1 },
	{ "odmr_atrn_interval", PT_TIME, "10s", F(odmr_atrn_interval), .min = 0 },
	{ "peers", PT_HOSTPORTS, "", F(peers) },
	{ "fleet_name", PT_STRING, "", F(fleet_name) },
	{ "fleet_relay_interval", PT_TIME, "5m", F(fleet_relay_interval), .min = 0 },
	{ "peer_secret_file", PT_STRING, "$config_directory/peer_secret", F(peer_secret_file) },
	{ "peer_retry_limit", PT_INT, "4", F(peer_retry_limit), .min = 1, .max = 20 },
	{ "peer_retry_delay", PT_TIME, "5s", F(peer_retry_delay), .min = 1 },
	{ "peer_timeout", PT_TIME, "10s", F(peer_timeout), .min = 1 },
	{ "master_status_interval", PT_TIME, "30s", F(master_status_interval), .min = 1 },
	{ "syslog_name", PT_STRING, LOG_SYSLOG_NAME_DEFAULT, F(syslog_name) },
	{ "web_title", PT_STRING, "Dynamic Mail Server Service", F(web_title) },
	/* Per-domain caps (quota.h): "none", or at least one. */
	{ "default_max_messages", PT_INT, "none", F(default_max_messages), .min = 1, .none = true },
	{ "default_max_bytes", PT_SIZE, "none", F(default_max_bytes), .min = 1, .none = true },
	{ "pop3_listen", PT_HOSTPORTS, "", F(pop3_listen) },
	{ "pop3s_listen", PT_HOSTPORTS, "", F(pop3s_listen) },
	{ "default_pop3", PT_BOOL, "no", F(default_pop3) },
	{ "pop3_timeout", PT_TIME, "600s", F(pop3_timeout), .min = 1 },
	{ "pop3_command_deadline", PT_TIME, "300s", F(pop3_command_deadline), .min = 1 },
	{ "pop3_session_deadline", PT_TIME, "1h", F(pop3_session_deadline), .min = 1 },
	{ "pop3_client_connection_limit", PT_INT, "10", F(pop3_client_connection_limit), .min = 1 },
	{ "pop3_plaintext_loopback", PT_BOOL, "yes", F(pop3_plaintext_loopback) },
	{ "dns_check", PT_BOOL, "yes", F(dns_check) },
};

#define NPARAMS (sizeof(params) / sizeof(params[0]))
const size_t nparams = NPARAMS;

/* The state of one load: raw text per parameter and expansion progress. */
struct loader {
	const char *file;		/* path of sluice.conf */
	const char *config_dir;
	char *raw[NPARAMS];		/* value from the file, or NULL */
	unsigned int line[NPARAMS];	/* where it was set */
	char *def[NPARAMS];		/* default text */
	char *exp[NPARAMS];		/* expanded value, once known */
	enum { EXP_TODO, EXP_ACTIVE, EXP_DONE, EXP_FAILED } state[NPARAMS];
	struct config_errors *errs;
};

/* config_default_dir - $SLUICE_CONFIG_DIR, else SLUICE_SYSCONFDIR */
const char *
config_default_dir(void)
{
	const char *dir = getenv("SLUICE_CONFIG_DIR");

	return dir != NULL && *dir != '\0' ? dir : SLUICE_SYSCONFDIR;
}

/* param_find - index of the parameter called name (len bytes), or -1 */
int
param_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NPARAMS; i++)
		if (strlen(params[i].name) == len &&
		    memcmp(params[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

/* config_param_known - is name a parameter? */
bool
config_param_known(const char *name)
{
	return param_find(name, strlen(name)) >= 0;
}

/* config_param_names - every parameter name, in table order */
const char *const *
config_param_names(void)
{
	static const char *names[NPARAMS + 1];
	size_t i;

	/* Filled on every call: idempotent, so harmless if two callers race. */
	for (i = 0; i < NPARAMS; i++)
		names[i] = params[i].name;
	names[NPARAMS] = NULL;
	return names;
}

/* loader_where - "FILE:LINE" of a setting, or "FILE" for a default */
static char *
loader_where(const struct loader *ld, size_t i)
{
	if (ld->raw[i] != NULL)
		return xasprintf("%s:%u", ld->file, ld->line[i]);
	return xasprintf("%s: default", ld->file);
}

/* loader_error - "FILE:LINE: name = "value": what" for parameter i */
static void
loader_error(struct loader *ld, size_t i, const char *value, const char *what)
{
	char *where = loader_where(ld, i);

	config_errors_add(ld->errs, "%s: %s = \"%s\": %s", where,
	    params[i].name, value, what);
	free(where);
}

static const char *loader_expand(struct loader *, size_t);

/*
 * loader_expand_text - expand $name, ${name} and $$ in text, for the value
 * of parameter owner. Returns a new string, or NULL after an error.
 */
static char *
loader_expand_text(struct loader *ld, size_t owner, const char *text)
{
	char *out = xstrdup(""), *tmp, *what;
	const char *p = text, *name, *val;
	size_t nlen;
	int j;

	while (*p != '\0') {
		const char *dollar = strchr(p, '$');

		if (dollar == NULL) {
			tmp = xasprintf("%s%s", out, p);
			free(out);
			out = tmp;
			break;
		}
		tmp = xasprintf("%s%.*s", out, (int)(dollar - p), p);
		free(out);
		out = tmp;
		p = dollar + 1;
		if (*p == '$') {
			tmp = xasprintf("%s$", out);
			free(out);
			out = tmp;
			p++;
			continue;
		}
		if (*p == '{') {
			name = p + 1;
			nlen = strcspn(name, "}");
			if (name[nlen] != '}') {
				loader_error(ld, owner, text, "missing \"}\" "
				    "after \"${\"; write ${name}");
				free(out);
				return NULL;
			}
			p = name + nlen + 1;
		} else {
			name = p;
			for (nlen = 0; isalnum((unsigned char)name[nlen]) ||
			    name[nlen] == '_'; nlen++)
				;
			p = name + nlen;
		}
		if (nlen == 0) {
			loader_error(ld, owner, text, "\"$\" without a "
			    "parameter name; write $$ for a literal \"$\"");
			free(out);
			return NULL;
		}
		if ((j = param_find(name, nlen)) < 0) {
			what = xasprintf("unknown parameter \"$%.*s\"; "
			    "see sluice.conf(5)", (int)nlen, name);
			loader_error(ld, owner, text, what);
			free(what);
			free(out);
			return NULL;
		}
		if (ld->state[j] == EXP_ACTIVE) {
			what = xasprintf("$%s refers back to itself; "
			    "remove the loop", params[j].name);
			loader_error(ld, owner, text, what);
			free(what);
			free(out);
			return NULL;
		}
		if ((val = loader_expand(ld, (size_t)j)) == NULL) {
			free(out);
			return NULL;
		}
		if (strlen(out) + strlen(val) + strlen(p) > CONFIG_VALUE_MAX) {
			loader_error(ld, owner, text, "value too long after "
			    "expansion; remove nested references");
			free(out);
			return NULL;
		}
		tmp = xasprintf("%s%s", out, val);
		free(out);
		out = tmp;
	}
	return out;
}

/* loader_expand - the expanded value of parameter i, or NULL on error */
static const char *
loader_expand(struct loader *ld, size_t i)
{
	const char *text;

	switch (ld->state[i]) {
	case EXP_DONE:
		return ld->exp[i];
	case EXP_FAILED:
	case EXP_ACTIVE:
		return NULL;
	case EXP_TODO:
		break;
	}
	ld->state[i] = EXP_ACTIVE;
	text = ld->raw[i] != NULL ? ld->raw[i] : ld->def[i];
	ld->exp[i] = loader_expand_text(ld, i, text);
	ld->state[i] = ld->exp[i] != NULL ? EXP_DONE : EXP_FAILED;
	return ld->exp[i];
}

/*
 * param_default - the default text of parameter i. DYN_DOMAIN follows
 * the effective myhostname (hostname may be NULL: then the computed one).
 */
char *
param_default(size_t i, const char *config_dir, const char *hostname)
{
	char *h, *d;

	switch (params[i].dyn) {
	case DYN_CONFIG_DIR:
		return xstrdup(config_dir);
	case DYN_HOSTNAME:
		return default_hostname();
	case DYN_DOMAIN:
		if (hostname != NULL)
			return domain_of(hostname);
		h = default_hostname();
		d = domain_of(h);
		free(h);
		return d;
	case DYN_NONE:
		break;
	}
	return xstrdup(params[i].def);
}

/* param_store - convert text into the field of parameter i; 0/-1 */
static int
param_store(struct loader *ld, struct config *cfg, size_t i, const char *text)
{
	const struct param *p = &params[i];
	void *field = (char *)cfg + p->offset;
	const char *hint = NULL;
	char *err, *what;
	long v;
	int idx;

	switch (p->type) {
	case PT_STRING:
		/*
		 * A host name goes into EHLO, the banner and Received:; one
		 * with a space or a control in it (found by t/fuzz/fuzz_config)
		 * also made a mydomain that `sluice config` printed and could
		 * not read back. Checked where the file sets it; the defaults
		 * come from the system.
		 */
		if (p->dyn == DYN_HOSTNAME && ld->raw[i] != NULL &&
		    (*text == '[' || !address_domain_ok(text, strlen(text)))) {
			loader_error(ld, i, text, "bad value; use a domain name "
			    "such as mx.example.net");
			return -1;
		}
		if (p->dyn == DYN_DOMAIN && ld->raw[i] != NULL &&
		    (*text == '[' || !address_domain_ok(text, strlen(text)))) {
			loader_error(ld, i, text, "bad value; use a domain name "
			    "such as example.net");
			return -1;
		}
		/* Postfix's syslog_name: what pflogsumm --syslog-name matches. */
		if (p->offset == offsetof(struct config, syslog_name) &&
		    !log_syslog_name_ok(text)) {
			loader_error(ld, i, text, "bad value; use 1 to 32 letters, "
			    "digits, \".\", \"_\", \"-\" or \"/\", such as "
			    LOG_SYSLOG_NAME_DEFAULT);
			return -1;
		}
		*(char **)field = xstrdup(text);
		return 0;
	case PT_WORD:
	case PT_ENUM:
		if ((idx = choice_index(p->choices, text)) < 0) {
			what = xasprintf("bad value; use one of: %s",
			    p->choices);
			loader_error(ld, i, text, what);
			free(what);
			return -1;
		}
		if (p->type == PT_ENUM)
			*(int *)field = idx;
		else
			*(char **)field = choice_name(p->choices, idx);
		return 0;
	case PT_INT:
	case PT_SIZE:
	case PT_TIME:
		if (p->none && strcasecmp(text, "none") == 0) {
			*(long *)field = 0;
			return 0;
		}
		if ((p->type == PT_INT ? config_parse_int(text, &v, &hint) :
		    p->type == PT_SIZE ? config_parse_size(text, &v, &hint) :
		    config_parse_time(text, &v, &hint)) < 0) {
			what = xasprintf("%s%s", hint, p->none ? ", or none" : "");
			loader_error(ld, i, text, what);
			free(what);
			return -1;
		}
		if (v < p->min || (p->max > 0 && v > p->max)) {
			what = v < p->min ? xasprintf("value too small; use "
			    "%ld%s or more", p->min, p->type == PT_TIME ? "s" : "") :
			    xasprintf("value too large; use %ld or less", p->max);
			loader_error(ld, i, text, what);
			free(what);
			return -1;
		}
		*(long *)field = v;
		return 0;
	case PT_BOOL:
		if (config_parse_bool(text, (bool *)field, &hint) < 0) {
			loader_error(ld, i, text, hint);
			return -1;
		}
		return 0;
	case PT_HOSTPORTS:
		if (config_parse_hostports(text, field, &hint) < 0) {
			loader_error(ld, i, text, hint);
			return -1;
		}
		return 0;
	case PT_NETLIST:
		if (netlist_parse(text, (struct netlist **)field, &err) < 0) {
			loader_error(ld, i, text, err);
			free(err);
			return -1;
		}
		return 0;
	}
	log_panic("param_store: bad type %d", (int)p->type);
}

/* is_blank - only white space? */
static bool
is_blank(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

/* loader_finish_line - store one logical "name = value" line */
static void
loader_finish_line(struct loader *ld, char *text, unsigned int lineno)
{
	char *p = text, *end;
	size_t nlen;
	int i;

	for (nlen = 0; isalnum((unsigned char)p[nlen]) || p[nlen] == '_';
	    nlen++)
		;
	p += nlen;
	while (isspace((unsigned char)*p))
		p++;
	if (nlen == 0 || *p != '=') {
		config_errors_add(ld->errs, "%s:%u: bad line \"%s\"; "
		    "write name = value", ld->file, lineno, text);
		return;
	}
	if ((i = param_find(text, nlen)) < 0) {
		config_errors_add(ld->errs, "%s:%u: unknown parameter "
		    "\"%.*s\"; see sluice.conf(5)", ld->file, lineno,
		    (int)nlen, text);
		return;
	}
	p++;
	while (isspace((unsigned char)*p))
		p++;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (ld->raw[i] != NULL) {
		/* As Postfix: the last setting wins, but say so. */
		config_errors_warn(ld->errs, "%s:%u: %s is also set at "
		    "line %u; the last setting wins", ld->file, lineno,
		    params[i].name, ld->line[i]);
		free(ld->raw[i]);
	}
	ld->raw[i] = xstrdup(p);
	ld->line[i] = lineno;
}

/* loader_read - read sluice.conf into ld->raw; -1 if it cannot be read */
static int
loader_read(struct loader *ld, FILE *fp)
{
	char *buf = NULL, *logical = NULL, *tmp;
	size_t cap = 0, len;
	ssize_t n;
	unsigned int lineno = 0, start = 0;

	while ((n = getline(&buf, &cap, fp)) != -1) {
		lineno++;
		len = (size_t)n;
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		/* Comment and blank lines vanish, even inside a continued value. */
		if (is_blank(buf) || buf[strspn(buf, " \t")] == '#')
			continue;
		if (isspace((unsigned char)buf[0])) {
			if (logical == NULL) {
				config_errors_add(ld->errs, "%s:%u: line "
				    "starts with white space but continues "
				    "nothing; remove the indentation",
				    ld->file, lineno);
				continue;
			}
			tmp = xasprintf("%s %s", logical,
			    buf + strspn(buf, " \t"));
			free(logical);
			logical = tmp;
			continue;
		}
		if (logical != NULL)
			loader_finish_line(ld, logical, start);
		free(logical);
		logical = xstrdup(buf);
		start = lineno;
	}
	if (logical != NULL)
		loader_finish_line(ld, logical, start);
	free(logical);
	free(buf);
	if (ferror(fp)) {
		config_errors_add(ld->errs, "%s: read: %s", ld->file,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* loader_clear - free what a loader holds */
static void
loader_clear(struct loader *ld)
{
	size_t i;

	for (i = 0; i < NPARAMS; i++) {
		free(ld->raw[i]);
		free(ld->def[i]);
		free(ld->exp[i]);
	}
}

/* config_fields_clear - free every field of cfg that a parameter owns */
static void
config_fields_clear(struct config *cfg)
{
	size_t i;
	void *field;

	for (i = 0; i < NPARAMS; i++) {
		field = (char *)cfg + params[i].offset;
		switch (params[i].type) {
		case PT_STRING:
		case PT_WORD:
			free(*(char **)field);
			*(char **)field = NULL;
			break;
		case PT_HOSTPORTS:
			config_hostports_clear(field);
			break;
		case PT_NETLIST:
			netlist_free((struct netlist **)field);
			break;
		default:
			break;
		}
	}
}

/* config_free - free a config, NULL the pointer */
void
config_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;
	size_t i;

	if (cfg == NULL)
		return;
	config_fields_clear(cfg);
	domain_table_free(&cfg->domains);
	if (cfg->param_text != NULL)
		for (i = 0; i < NPARAMS; i++)
			free(cfg->param_text[i]);
	free(cfg->param_text);
	free(cfg->param_set);
	xfree(cfgp);
}

/* config_log_errors - when the caller gave no error list, log them */
static void
config_log_errors(const struct config_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->nwarn; i++)
		log_warn("%s", errs->warn[i]);
	for (i = 0; i < errs->n; i++)
		log_warn("%s", errs->msg[i]);
}

/* config_build - expand and convert every parameter of ld into cfg */
static void
config_build(struct loader *ld, struct config *cfg)
{
	const char *val;
	size_t i, dom = NPARAMS;
	int host = param_find("myhostname", strlen("myhostname"));

	for (i = 0; i < NPARAMS; i++) {
		if (params[i].dyn == DYN_DOMAIN)
			dom = i;
		else if (params[i].dyn == DYN_HOSTNAME && ld->raw[i] != NULL)
			/* Set in the file: no need to ask the resolver. */
			ld->def[i] = xstrdup("");
		else
			ld->def[i] = param_default(i, ld->config_dir, NULL);
	}
	if (dom < NPARAMS) {
		/*
		 * mydomain's default follows the effective myhostname; while
		 * that is expanded, mydomain counts as busy so that
		 * "myhostname = mx.$mydomain" without a mydomain is a loop.
		 */
		if (ld->raw[dom] == NULL) {
			ld->state[dom] = EXP_ACTIVE;
			val = loader_expand(ld, (size_t)host);
			ld->state[dom] = EXP_TODO;
		} else
			val = NULL;
		ld->def[dom] = domain_of(val != NULL ? val : "localhost");
	}
	for (i = 0; i < NPARAMS; i++) {
		cfg->param_set[i] = ld->raw[i] != NULL;
		val = loader_expand(ld, i);
		cfg->param_text[i] = xstrdup(val != NULL ? val : "");
		/* A failed expansion is reported once, not again as a bad value. */
		if (val != NULL)
			param_store(ld, cfg, i, val);
	}
	/* A failed parameter leaves its string field unset: make it "". */
	for (i = 0; i < NPARAMS; i++) {
		char **s = (char **)((char *)cfg + params[i].offset);

		if ((params[i].type == PT_STRING || params[i].type == PT_WORD) &&
		    *s == NULL)
			*s = xstrdup("");
	}
}

/*
 * config_check_peers - a fleet needs every peer named and its secret
 * there: without it no pass could authenticate, so say so at load.
 */
static void
config_check_peers(const struct config *cfg, struct config_errors *errs)
{
	struct stat st;
	size_t i;

	for (i = 0; i < cfg->peers.n; i++)
		if (cfg->peers.v[i].host[0] == '\0')
			config_errors_add(errs, "peers = \"*:%s\": a peer needs its host "
			    "name or address; list each other sluice host as host:port",
			    cfg->peers.v[i].port);
	if (cfg->peers.n > 0 && stat(cfg->peer_secret_file, &st) < 0)
		config_errors_add(errs, "peer_secret_file %s: %s; peers is set, so every "
		    "host of the fleet needs the same secret there. Fix: openssl rand "
		    "-hex 24 > %s on one host, copy it to the others, chown root:"
		    "MAIL_OWNER_GROUP and chmod 0640 it", cfg->peer_secret_file,
		    strerror(errno), cfg->peer_secret_file);
}

/* config_load - read sluice.conf and the domains table */
int
config_load(const char *config_dir, struct config **cfg_r,
    struct config_errors *errs)
{
	char *path;
	int rc;

	if (config_dir == NULL)
		config_dir = config_default_dir();
	path = xasprintf("%s/%s", config_dir, CONFIG_FILE_NAME);
	rc = config_load_from(config_dir, path, path, cfg_r, errs);
	free(path);
	return rc;
}

/* config_load_from - config_load() of another file (an edit being checked) */
int
config_load_from(const char *config_dir, const char *file, const char *shown,
    struct config **cfg_r, struct config_errors *errs)
{
	struct config_errors local = { 0 };
	struct loader ld;
	struct config *cfg;
	const char *path = shown;
	FILE *fp;
	size_t before;
	int rc = 0;

	*cfg_r = NULL;
	if (errs == NULL)
		errs = &local;
	before = errs->n;
	memset(&ld, 0, sizeof(ld));
	ld.errs = errs;
	ld.config_dir = config_dir;
	ld.file = path;
	if ((fp = fopen(file, "r")) == NULL) {
		config_errors_add(errs, "%s: open: %s", path, strerror(errno));
		if (errs == &local) {
			config_log_errors(&local);
			config_errors_clear(&local);
		}
		return -1;
	}
	loader_read(&ld, fp);
	fclose(fp);

	cfg = xcalloc(1, sizeof(*cfg));
	cfg->param_text = xcalloc(NPARAMS, sizeof(*cfg->param_text));
	cfg->param_set = xcalloc(NPARAMS, sizeof(*cfg->param_set));
	config_build(&ld, cfg);
	home_check(cfg, path, errs);
	config_check_peers(cfg, errs);
	if (*cfg->domains_file != '\0') {
		if (domain_table_load(cfg->domains_file, cfg, &cfg->domains,
		    errs) < 0)
			cfg->domains = NULL;
	}
	if (cfg->domains == NULL)
		cfg->domains = domain_table_new();
	loader_clear(&ld);

	if (errs->n > before) {
		config_free(&cfg);
		rc = -1;
	}
	if (errs == &local) {
		config_log_errors(&local);
		config_errors_clear(&local);
	}
	*cfg_r = cfg;
	return rc;
}

/* config_queue_minfree - the effective free-space floor */
long
config_queue_minfree(const struct config *cfg)
{
	if (cfg->queue_minfree > 0)
		return cfg->queue_minfree;
	/* Room for one more message of the largest size, and some more. */
	return cfg->message_size_limit + cfg->message_size_limit / 2;
}
