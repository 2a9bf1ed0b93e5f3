/*
 * cli_test - the sluice CLI: JSON and text formatting, usage errors, config check
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "util/ipc.h"
#include "mail/conf.h"
#include "cli/cli.h"
#include "t/tap.h"

/* A valid queue ID (20 uppercase hex digits) for the records below. */
#define ID	"0123456789ABCDEF0123"

/*
 * esc - s with newlines as "\\n", so that a "got" message stays on its TAP
 * line; from a small ring of static buffers (fine in a test).
 */
static const char *
esc(const char *s)
{
	static char ring[4][4096];
	static int next;
	char *out = ring[next++ % 4];
	size_t n = 0;

	for (; *s != '\0' && n + 3 < sizeof(ring[0]); s++) {
		if (*s == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
	return out;
}

/* mem_begin - a memory stream to format into */
static FILE *
mem_begin(char **buf, size_t *len)
{
	FILE *fp = open_memstream(buf, len);

	if (fp == NULL) {
		perror("open_memstream");
		exit(99);
	}
	return fp;
}

/* mem_end - close the stream; the text is in *buf (caller frees) */
static void
mem_end(FILE *fp)
{
	fclose(fp);
}

static void
test_json_string(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "abc", "\"abc\"" },
		{ "", "\"\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "\n\t\r", "\"\\n\\t\\r\"" },
		{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
		{ "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"" },
		{ "x\xc3", "\"x\\ufffd\"" },
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
		{ "\xe2\x82", "\"\\ufffd\\ufffd\"" },
		{ "a\xff" "b", "\"a\\ufffdb\"" },
	};
	size_t i, len;
	char *buf;
	FILE *fp;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fp = mem_begin(&buf, &len);
		cli_json_string(fp, cases[i].in);
		mem_end(fp);
		ok(strcmp(buf, cases[i].want) == 0, "json string %zu: got %s, want %s", i,
		    esc(buf), cases[i].want);
		free(buf);
	}
	fp = mem_begin(&buf, &len);
	cli_json_string(fp, NULL);
	mem_end(fp);
	ok(strcmp(buf, "\"\"") == 0, "json string NULL: got %s, want \"\"", esc(buf));
	free(buf);
}

/* entry_rec - a type=entry record as qmgr sends it */
static struct ipc_rec *
entry_rec(const char *id, const char *sender, const char *rcpt2, const char *error)
{
	struct ipc_rec *rec = ipc_rec_new("entry");

	ipc_rec_add(rec, "id", id);
	ipc_rec_add(rec, "domain", "site.example");
	ipc_rec_add(rec, "sender", sender);
	ipc_rec_add(rec, "size", "2048");
	ipc_rec_add(rec, "arrival", "1700000000");
	ipc_rec_add(rec, "next_try", "0");
	ipc_rec_add(rec, "expiry", "1700432000");
	ipc_rec_add(rec, "attempts", "2");
	ipc_rec_add(rec, "flags", "1");
	ipc_rec_add(rec, "nrcpt", rcpt2 != NULL ? "2" : "1");
	ipc_rec_add(rec, "rcpt", "alice@site.example");
	if (rcpt2 != NULL)
		ipc_rec_add(rec, "rcpt", rcpt2);
	if (error != NULL)
		ipc_rec_add(rec, "error", error);
	return rec;
}

/* add_msg - the records into m as cli_list_rec takes them; the last add's result */
static int
add_msg(struct cli_qmsg *m, struct ipc_rec *rec)
{
	int ret = cli_qmsg_add(m, rec);

	ipc_rec_free(&rec);
	return ret;
}

static void
test_list(void)
{
	const char *want_json =
	    "{\"queue_id\":\"" ID "\",\"host\":\"mx1\",\"arrival_time\":1700000000,"
	    "\"message_size\":2048,\"sender\":\"bob@example.org\",\"hold\":true,"
	    "\"recipients\":[{\"address\":\"alice@site.example\",\"delay_reason\":\"connect: \\\"refused\\\"\"},"
	    "{\"address\":\"carol@site.example\",\"delay_reason\":\"connect: \\\"refused\\\"\"},"
	    "{\"address\":\"dave@other.example\",\"delay_reason\":\"\"}],"
	    "\"domains\":[{\"domain\":\"site.example\",\"next_try\":0,\"expiry\":1700432000,"
	    "\"attempts\":2,\"delay_reason\":\"connect: \\\"refused\\\"\",\"recipients\":["
	    "{\"address\":\"alice@site.example\",\"delay_reason\":\"connect: \\\"refused\\\"\"},"
	    "{\"address\":\"carol@site.example\",\"delay_reason\":\"connect: \\\"refused\\\"\"}],"
	    "\"gate\":{\"state\":\"open\",\"until\":1700000600,\"reason\":\"\",\"opened_by\":\"etrn\"}},"
	    "{\"domain\":\"other.example\",\"next_try\":0,\"expiry\":1700432000,"
	    "\"attempts\":2,\"delay_reason\":\"\",\"recipients\":["
	    "{\"address\":\"dave@other.example\",\"delay_reason\":\"\"}],"
	    "\"gate\":{\"state\":\"held\",\"until\":null,\"reason\":\"probing\",\"opened_by\":null}}]}\n";
	const char *want_text =
	    ID "!     2048 Tue Nov 14 22:13:20  bob@example.org\n"
	    "                                                    (connect: \"refused\")\n"
	    "                                                    alice@site.example\n"
	    "                                                    carol@site.example\n"
	    "                                                    dave@other.example\n\n";
	struct cli_qmsg m = { 0 };
	struct ipc_rec *rec;
	size_t len;
	char *buf;
	FILE *fp;

	rec = entry_rec(ID, "bob@example.org", "carol@site.example", "connect: \"refused\"");
	ipc_rec_add(rec, "gate", "open");
	ipc_rec_add(rec, "open_until", "1700000600");
	ipc_rec_add(rec, "opened_by", "etrn");
	ok(add_msg(&m, rec) == 0, "list: first entry accepted");
	/* The same message's entry for a second domain joins it. */
	rec = ipc_rec_new("entry");
	ipc_rec_add(rec, "id", ID);
	ipc_rec_add(rec, "domain", "other.example");
	ipc_rec_add(rec, "sender", "bob@example.org");
	ipc_rec_add(rec, "size", "2048");
	ipc_rec_add(rec, "arrival", "1700000000");
	ipc_rec_add(rec, "expiry", "1700432000");
	ipc_rec_add(rec, "attempts", "2");
	ipc_rec_add(rec, "flags", "0");
	ipc_rec_add(rec, "rcpt", "dave@other.example");
	ipc_rec_add(rec, "gate", "held");
	ipc_rec_add(rec, "reason", "probing");
	ok(add_msg(&m, rec) == 0 && m.ndom == 2, "list: second domain joins, got %zu", m.ndom);
	fp = mem_begin(&buf, &len);
	cli_list_json(fp, &m, "mx1");
	mem_end(fp);
	ok(strcmp(buf, want_json) == 0, "list json: got %s, want %s", esc(buf), esc(want_json));
	free(buf);

	fp = mem_begin(&buf, &len);
	cli_list_text(fp, &m);
	mem_end(fp);
	ok(strcmp(buf, want_text) == 0, "list text: got %s, want %s", esc(buf), esc(want_text));
	free(buf);
	/* Another ID is another message: not added, m stays whole. */
	ok(add_msg(&m, entry_rec("0123456789ABCDEF0124", "x@y.example", NULL, NULL)) == 1 &&
	    m.ndom == 2, "list: another ID is another message");
	cli_qmsg_clear(&m);

	/* The null sender shows as MAILER-DAEMON; no error, no reason line. */
	ok(add_msg(&m, entry_rec(ID, "", NULL, NULL)) == 0, "list null sender: accepted");
	fp = mem_begin(&buf, &len);
	cli_list_text(fp, &m);
	mem_end(fp);
	ok(strstr(buf, "MAILER-DAEMON\n") != NULL && strchr(buf, '(') == NULL,
	    "list text null sender: got %s", esc(buf));
	free(buf);
	fp = mem_begin(&buf, &len);
	cli_list_json(fp, &m, "mx1");
	mem_end(fp);
	ok(strstr(buf, "\"sender\":\"\",") != NULL &&
	    strstr(buf, "\"delay_reason\":\"\"") != NULL &&
	    strstr(buf, "\"gate\":{\"state\":null,") != NULL,
	    "list json null sender, no gate: got %s", esc(buf));
	free(buf);
	cli_qmsg_clear(&m);

	fp = mem_begin(&buf, &len);
	cli_list_footer(fp, 2048, 1);
	cli_list_footer(fp, 3000, 2);
	cli_list_footer(fp, 0, 0);
	mem_end(fp);
	ok(strcmp(buf, "-- 2 Kbytes in 1 Request.\n-- 3 Kbytes in 2 Requests.\n"
	    "Mail queue is empty\n") == 0, "list footer: got %s", esc(buf));
	free(buf);
}

static void
test_list_bad(void)
{
	static const struct {
		const char *id, *sender, *rcpt2;
	} cases[] = {
		{ "0123", "bob@example.org", NULL },
		{ "0123456789abcdef0123", "bob@example.org", NULL },
		{ ID, "bob", NULL },
		{ ID, "bob@example.org", "not an address" },
		{ ID, "bob@example.org", "x@" },
	};
	struct cli_qmsg m = { 0 };
	struct ipc_rec *rec;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rec = entry_rec(cases[i].id, cases[i].sender, cases[i].rcpt2, NULL);
		ok(add_msg(&m, rec) == -1 && m.id[0] == '\0' && m.ndom == 0,
		    "bad entry %zu refused, nothing kept", i);
	}
	/* A record missing its size is malformed too. */
	rec = ipc_rec_new("entry");
	ipc_rec_add(rec, "id", ID);
	ipc_rec_add(rec, "domain", "site.example");
	ipc_rec_add(rec, "sender", "");
	ipc_rec_add(rec, "arrival", "1");
	ok(add_msg(&m, rec) == -1, "entry without size refused");
	/* A gate word or a trigger qmgr does not know is malformed. */
	rec = entry_rec(ID, "bob@example.org", NULL, NULL);
	ipc_rec_add(rec, "gate", "ajar");
	ok(add_msg(&m, rec) == -1, "entry with gate=ajar refused");
	rec = entry_rec(ID, "bob@example.org", NULL, NULL);
	ipc_rec_add(rec, "gate", "open");
	ipc_rec_add(rec, "opened_by", "somebody");
	ok(add_msg(&m, rec) == -1, "entry with opened_by=somebody refused");
	cli_qmsg_clear(&m);
}

static void
test_summary(void)
{
	static const char *const fields[] = {
		"b5", "b10", "b20", "b40", "b80", "b160", "b320", "b640", "b1280", "b1280p",
	};
	const char *want_json =
	    "{\"domain\":\"site.example\",\"messages\":55,\"bytes\":123456,"
	    "\"oldest\":1700000000,\"gate\":{\"state\":\"held\",\"until\":null,"
	    "\"reason\":\"\",\"opened_by\":null},\"age_buckets\":{\"5\":1,\"10\":2,"
	    "\"20\":3,\"40\":4,\"80\":5,\"160\":6,\"320\":7,\"640\":8,\"1280\":9,\"1280+\":10}}\n";
	struct cli_summary_row row, total = { .domain = "TOTAL" };
	struct ipc_rec *rec = ipc_rec_new("domain");
	size_t i, len;
	char *buf;
	FILE *fp;

	ipc_rec_add(rec, "domain", "site.example");
	ipc_rec_add(rec, "messages", "55");
	ipc_rec_add(rec, "bytes", "123456");
	ipc_rec_add(rec, "oldest", "1700000000");
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		ipc_rec_addf(rec, fields[i], "%zu", i + 1);
	ipc_rec_add(rec, "gate", "held");
	ok(cli_summary_parse(rec, &row) == 0, "summary parse: accepted");
	ok(row.bucket[9] == 10 && row.messages == 55, "summary parse: b1280p got %llu",
	    row.bucket[9]);
	fp = mem_begin(&buf, &len);
	cli_summary_json(fp, &row);
	mem_end(fp);
	ok(strcmp(buf, want_json) == 0, "summary json: got %s, want %s", esc(buf), esc(want_json));
	free(buf);

	cli_summary_add(&total, &row);
	cli_summary_add(&total, &row);
	ok(total.messages == 110 && total.bucket[0] == 2 && total.oldest == 1700000000,
	    "summary total: got %llu messages", total.messages);
	fp = mem_begin(&buf, &len);
	cli_summary_header(fp);
	cli_summary_text(fp, &row, (time_t)1700000000 + 2 * 86400 + 3 * 3600);
	mem_end(fp);
	ok(strstr(buf, "T     5    10") != NULL && strstr(buf, "1280+") != NULL,
	    "summary header: got %s", esc(buf));
	ok(strstr(buf, "site.example     55     1     2") != NULL &&
	    strstr(buf, "123456     2d3h held\n") != NULL, "summary row: got %s", esc(buf));
	free(buf);

	/* A missing bucket is a malformed record. */
	ipc_rec_free(&rec);
	rec = ipc_rec_new("domain");
	ipc_rec_add(rec, "domain", "site.example");
	ipc_rec_add(rec, "messages", "1");
	ipc_rec_add(rec, "bytes", "1");
	ok(cli_summary_parse(rec, &row) == -1, "summary without buckets refused");
	ipc_rec_free(&rec);
}

/* run - cli_dispatch on a NULL-terminated list; output in *out_r, stderr in *err_r */
static int
run(const char *config_dir, char **out_r, char **err_r, const char *arg0, ...)
{
	struct cli cli = { .config_dir = config_dir };
	char *argv[16], errpath[] = "/tmp/cli_test.XXXXXX";
	size_t argc = 0, len;
	int ret, saved, fd;
	struct stat st;
	va_list ap;

	va_start(ap, arg0);
	for (const char *a = arg0; a != NULL && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	cli.out = mem_begin(out_r, &len);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	if ((fd = mkstemp(errpath)) < 0 || saved < 0) {
		perror("mkstemp");
		exit(99);
	}
	dup2(fd, STDERR_FILENO);
	ret = cli_dispatch(&cli, (int)argc, argv);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	mem_end(cli.out);
	cli_clear(&cli);
	fstat(fd, &st);
	*err_r = calloc(1, (size_t)st.st_size + 1);
	if (*err_r == NULL || pread(fd, *err_r, (size_t)st.st_size, 0) < 0)
		exit(99);
	close(fd);
	unlink(errpath);
	return ret;
}

static void
test_usage(void)
{
	static const char *const cases[][6] = {
		{ NULL },
		{ "nosuch" },
		{ "start", "-x" },
		{ "start", "now" },
		{ "stop", "now" },
		{ "status", "-v" },
		{ "reload", "x" },
		{ "queue" },
		{ "queue", "bogus" },
		{ "queue", "list", "--domain" },
		{ "queue", "list", "--bogus" },
		{ "queue", "list", "extra" },
		{ "queue", "list", "--domain", "bad..domain" },
		{ "queue", "summary", "--domain", "site.example" },
		{ "queue", "summary", "x" },
		{ "queue", "show" },
		{ "queue", "show", ID, ID },
		{ "queue", "show", "--json", ID },
		{ "queue", "delete" },
		{ "queue", "delete", "--domain", "site.example", ID },
		{ "queue", "delete", "--json", ID },
		{ "queue", "delete", "--all", ID },
		{ "queue", "delete", "-", ID },
		{ "queue", "delete", "--sender", "bob@example.org", ID },
		{ "queue", "delete", "--older-than", "3x" },
		{ "queue", "delete", "--older-than" },
		{ "queue", "delete", "--sender", "nobody" },
		{ "queue", "list", "--younger-than", "-1d" },
		{ "queue", "list", "--recipient", "@bad..domain" },
		{ "queue", "count", "--json" },
		{ "queue", "count", "extra" },
		{ "queue", "show", "--bogus", ID },
		{ "queue", "hold", "--sender", "bob@example.org" },
		{ "queue", "reindex", "x" },
		{ "config", "-x" },
		{ "config", "-d", "x" },
		{ "config", "check", "x" },
		{ "config", "smtp_listen", "-d" },
		{ "config", "-n", "smtp_listen" },
		{ "config", "-d", "no_such_parameter" },
		{ "config", "-e" },
		{ "config", "-e", "smtpd_timeout" },
		{ "config", "-e", "no_such_parameter=1" },
		{ "config", "-X", "no_such_parameter" },
		{ "config", "no_such_parameter" },
	};
	char *out, *err, joined[128];
	size_t i, k;
	int ret;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		joined[0] = '\0';
		for (k = 0; k < 6 && cases[i][k] != NULL; k++) {
			strncat(joined, " ", sizeof(joined) - strlen(joined) - 1);
			strncat(joined, cases[i][k], sizeof(joined) - strlen(joined) - 1);
		}
		/* A config dir that does not exist: usage errors must come first. */
		ret = run("/nonexistent/sluice", &out, &err, cases[i][0], cases[i][1],
		    cases[i][2], cases[i][3], cases[i][4], NULL);
		ok(ret == EX_USAGE, "usage error \"sluice%s\": got exit %d, want %d", joined,
		    ret, EX_USAGE);
		ok(out[0] == '\0' && strstr(err, "sluice") != NULL,
		    "usage error \"sluice%s\": stderr got \"%s\"", joined, esc(err));
		free(out);
		free(err);
	}
}

/* write_file - create path with text; exits on failure */
static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0) {
		perror(path);
		exit(99);
	}
}

static void
test_config(void)
{
	char dir[] = "/tmp/cli_test_conf.XXXXXX", path[256], conf[1024];
	char *out, *err, *want;
	int ret;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	/* As root, mail_owner must reach the queue that master creates here. */
	(void)chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/domains", dir);
	write_file(path, "site.example mode=hold route=[127.0.0.1]:2626\n");
	snprintf(path, sizeof(path), "%s/sluice.conf", dir);
	snprintf(conf, sizeof(conf), "# test\nqueue_directory = %s/queue\n"
	    "smtp_listen = 127.0.0.1:2525\ndaemon_directory = %s/libexec\n"
	    "dns_check = no\n", dir,
	    getenv("SLUICE_BUILDDIR") != NULL ? getenv("SLUICE_BUILDDIR") : ".");
	write_file(path, conf);

	ret = run(dir, &out, &err, "config", "check", NULL);
	/* Not as root, and mail_owner another user: the one warning it must give. */
	ok(ret == EX_OK && out[0] == '\0' && (err[0] == '\0' || (geteuid() != 0 &&
	    strncmp(err, "sluice: warning: not run as root: ", 34) == 0 &&
	    strchr(err, '\n') == err + strlen(err) - 1)),
	    "config check on a good config: got exit %d, stdout \"%s\", stderr \"%s\"",
	    ret, esc(out), esc(err));
	free(out);
	free(err);

	ret = run(dir, &out, &err, "config", "smtp_listen", NULL);
	ok(ret == EX_OK && strcmp(out, "smtp_listen = 127.0.0.1:2525\n") == 0,
	    "config smtp_listen: got exit %d, \"%s\"", ret, esc(out));
	free(out);
	free(err);

	ret = run(dir, &out, &err, "config", "-n", NULL);
	ok(ret == EX_OK && strstr(out, "smtp_listen = 127.0.0.1:2525\n") != NULL &&
	    strstr(out, "message_size_limit") == NULL,
	    "config -n: non-default values only, got \"%s\"", esc(out));
	free(out);
	free(err);

	ret = run(dir, &out, &err, "config", NULL);
	ok(ret == EX_OK && strstr(out, "smtp_listen = 127.0.0.1:2525\n") != NULL &&
	    strstr(out, "message_size_limit = 10240000\n") != NULL,
	    "config: every effective value, got exit %d", ret);
	free(out);
	free(err);

	ret = run(dir, &out, &err, "config", "-d", NULL);
	ok(ret == EX_OK && strstr(out, "message_size_limit = ") != NULL,
	    "config -d: every default, got exit %d", ret);
	free(out);
	free(err);

	/* An unknown queue ID, and a malformed one, with no such message. */
	ret = run(dir, &out, &err, "queue", "show", ID, NULL);
	ok(ret == EX_NOINPUT && strstr(err, "no such message") != NULL,
	    "queue show unknown: got exit %d, stderr \"%s\"", ret, esc(err));
	free(out);
	free(err);
	ret = run(dir, &out, &err, "queue", "show", "XYZ", NULL);
	ok(ret == EX_NOINPUT && strstr(err, "not a queue ID") != NULL,
	    "queue show bad ID: got exit %d, stderr \"%s\"", ret, esc(err));
	free(out);
	free(err);

	/* A broken line 3: the error must name the file and the line. */
	snprintf(conf, sizeof(conf), "# test\nqueue_directory = %s/queue\n"
	    "no_such_parameter = 1\nmessage_size_limit = lots\n", dir);
	write_file(path, conf);
	ret = run(dir, &out, &err, "config", "check", NULL);
	want = NULL;
	if (asprintf(&want, "sluice: %s:3:", path) < 0)
		exit(99);
	ok(ret == EX_CONFIG, "config check on a broken config: got exit %d, want %d",
	    ret, EX_CONFIG);
	ok(strstr(err, want) != NULL, "config check names FILE:LINE: got \"%s\", want %s",
	    esc(err), esc(want));
	free(want);
	if (asprintf(&want, "sluice: %s:4:", path) < 0)
		exit(99);
	ok(strstr(err, want) != NULL, "config check reports every error: got \"%s\", want %s",
	    esc(err), esc(want));
	free(want);
	free(out);
	free(err);

	/* Commands that need the config fail with EX_CONFIG, not a crash. */
	ret = run(dir, &out, &err, "queue", "list", NULL);
	ok(ret == EX_CONFIG, "queue list on a broken config: got exit %d, want %d", ret,
	    EX_CONFIG);
	free(out);
	free(err);

	snprintf(path, sizeof(path), "%s/domains", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sluice.conf", dir);
	unlink(path);
	rmdir(dir);
}

/* How many other locks change while cli_master looks, and how often it looks. */
#define CHURN_FILES	200
#define CHURNERS	2
#define LOOKS		4000

/* remove_path - remove the file or empty directory named by fmt */
static void
remove_path(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	(void)remove(path);
}

/* churn_locks - lock and unlock CHURN_FILES files of dir in turn, forever */
static void
churn_locks(const char *dir, int which)
{
	char path[PATH_MAX];
	int fds[CHURN_FILES], i;

	for (i = 0; i < CHURN_FILES; i++) {
		snprintf(path, sizeof(path), "%s/churn%d.%d", dir, which, i);
		if ((fds[i] = open(path, O_RDWR | O_CREAT, 0600)) < 0)
			_exit(99);
	}
	for (;;) {
		for (i = 0; i < CHURN_FILES; i++)
			(void)flock(fds[i], LOCK_EX);
		for (i = 0; i < CHURN_FILES; i++)
			(void)flock(fds[i], LOCK_UN);
	}
}

/*
 * test_master_lock - cli_master finds a master by the flock it holds on
 * pid/master.pid: every time while other locks come and go (/proc/locks,
 * read in pieces, can skip a held lock then), and a lock nobody holds is
 * left as it was found.
 */
static void
test_master_lock(void)
{
	char dir[] = "/tmp/cli_test-XXXXXX", path[PATH_MAX], c;
	struct config cfg = { 0 };
	pid_t holder, churn[CHURNERS], pid = 0;
	int fd, p[2], i, ret, missed = 0, other = 0;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	cfg.queue_directory = dir;
	snprintf(path, sizeof(path), "%s/pid", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/pid/master.pid", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 ||
	    write(fd, "4242\n", 5) != 5) {
		perror(path);
		exit(99);
	}
	/* A pid file left by a master that died: not running. */
	ret = cli_master(&cfg, &pid);
	ok(ret == 0, "master.pid that nobody locks: not running (got %d)", ret);
	ok(flock(fd, LOCK_EX | LOCK_NB) == 0, "and the look left no lock behind");
	(void)flock(fd, LOCK_UN);
	close(fd);

	if (pipe(p) < 0 || (holder = fork()) < 0) {
		perror("pipe/fork");
		exit(99);
	}
	if (holder == 0) {
		char buf[32];
		int n;

		fd = open(path, O_RDWR);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(99);
		n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
		if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n ||
		    write(p[1], "x", 1) != 1)
			_exit(99);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		fprintf(stderr, "the lock holder did not start\n");
		exit(99);
	}
	close(p[0]);
	for (i = 0; i < CHURNERS; i++)
		if ((churn[i] = fork()) == 0)
			churn_locks(dir, i);
	for (i = 0; i < LOOKS; i++) {
		ret = cli_master(&cfg, &pid);
		if (ret != 1)
			missed++;
		else if (pid != holder)
			other++;
	}
	ok(missed == 0, "a held lock is found in each of %d looks while %d other locks "
	    "change (missed %d)", LOOKS, CHURNERS * CHURN_FILES, missed);
	ok(other == 0, "each look names the holder's pid (%d named another)", other);
	for (i = 0; i < CHURNERS; i++)
		if (churn[i] > 0)
			kill(churn[i], SIGKILL);
	kill(holder, SIGKILL);
	while (wait(NULL) > 0)
		;
	for (i = 0; i < CHURNERS * CHURN_FILES; i++)
		remove_path("%s/churn%d.%d", dir, i / CHURN_FILES, i % CHURN_FILES);
	remove_path("%s/pid/master.pid", dir);
	remove_path("%s/pid", dir);
	remove_path("%s", dir);
}

int
main(void)
{
	/* The text listing prints local time; pin it. */
	setenv("TZ", "UTC", 1);
	tzset();
	test_json_string();
	test_list();
	test_list_bad();
	test_summary();
	test_usage();
	test_config();
	test_master_lock();
	return tap_done();
}
