/*
 * dsn_notice.h - what the DSN unit tests (dsn_test, dsn_form_test) share:
 * a scratch queue with an original message in it, and a notice read back
 * from the queue and split into its MIME parts, with helpers that look
 * at headers, parts and delivery-status groups.
 *
 *	dsn_notice_setup("dsn_test");
 *	if (notice_made("bounce", DSN_RET_FULL, &r, 1, subject, type, &n))
 *		... part_body(&n, 1) ...
 *	notice_free(&n);
 *	return dsn_notice_done();
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_T_DSN_NOTICE_H
#define SLUICE_T_DSN_NOTICE_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/dsn.h"
#include "mail/queue.h"

#define SENDER		"alice@sender.example"
#define MAX_PARTS	8

/* The scratch queue every helper writes to, made by dsn_notice_setup. */
extern char qdir[256];

/* The original message, and the parameters of every notice made of it. */
extern const char plain_msg[];
extern const size_t plain_msg_len;
extern const struct dsn_params params;

/* A parsed notice: its content, and where each MIME part starts. */
struct notice {
	char id[QUEUE_ID_LEN + 1];
	struct envelope *env;
	char *data;		/* the content, NUL-terminated */
	size_t len;
	char *boundary;
	size_t nparts;
	char *part[MAX_PARTS];	/* each part: its headers, empty line, body */
	bool closed;		/* the close delimiter was seen */
};

/* dsn_notice_setup - the scratch queue under $TMPDIR and the log beside it */
void dsn_notice_setup(const char *prog);

/* dsn_notice_done - remove the queue and the log; tap_done()'s exit code */
int dsn_notice_done(void);

/* queue_original - queue a message from sender with content and ret; its ID in id_r */
struct envelope *queue_original(const char *sender, const char *content, size_t len, enum dsn_ret ret);

/* header_value - the unfolded value of header name in the block at h, or NULL */
char *header_value(const char *h, const char *name);

/* has_header - does the header block at h have a field name? */
bool has_header(const char *h, const char *name);

/* header_is - does header name in h have exactly value want? */
bool header_is(const char *h, const char *name, const char *want);

/* body_of - the body after the header block at h */
const char *body_of(const char *h);

/* lines_ok - every line ends in CRLF, none holds a bare CR or LF, none is over 998 */
bool lines_ok(const char *data, size_t len, size_t *longest_r);

/* check_lines - test that data has only CRLF lines of at most 998 octets */
void check_lines(const char *what, const char *data, size_t len);

/* notice_split - find the boundary and where each part of n->data starts; 0/-1 */
int notice_split(struct notice *n);

/* notice_read - load the notice id (envelope and content) and split it; 0/-1 */
int notice_read(const char *id, struct notice *n);

/* notice_free - release a notice and remove its file */
void notice_free(struct notice *n);

/* part_copy - part i of n as its own NUL-terminated string (up to the next delimiter) */
char *part_copy(const struct notice *n, size_t i);

/* part_body - the body of part i of n, as a new string */
char *part_body(const struct notice *n, size_t i);

/* rcpt_group - the delivery-status fields group whose Final-Recipient is addr */
char *rcpt_group(const char *status_body, const char *addr);

/* make_dsn - queue an original, make a notice for rcpts, read it back; 0/1/-1 of dsn_create */
int make_dsn(const char *sender, const char *content, size_t clen, enum dsn_ret ret, const struct dsn_rcpt *r, size_t nr, const struct dsn_params *p, struct notice *n, struct envelope **orig_r);

/* check_structure - the common shape of a report: envelope, headers, three parts */
void check_structure(const char *what, const struct notice *n, const char *subject, const char *part3_type);

/* notice_made - a notice of plain_msg for rcpts, of the shape every report
 * shares; true when its three parts are there. notice_free(n) either way. */
bool notice_made(const char *what, enum dsn_ret ret, const struct dsn_rcpt *r, size_t nr, const char *subject, const char *part3_type, struct notice *n);

#endif
