/*
 * ipc - records between sluice's own processes.
 *
 * Transport: Unix SOCK_SEQPACKET sockets; one datagram is one record, so
 * no record is ever half read. Grammar of a record (the only one):
 *
 *	record = 1*field
 *	field  = name "=" value LF
 *	name   = 1*32( %x61-7A / DIGIT / "_" )     ; lowercase
 *	value  = *( %x20-24 / %x26-7E / "%" 2HEXDIG )   ; at most 4096 decoded bytes
 *
 * Bytes outside the printable range and "%" itself travel as %XX. The
 * first field is always "type" and names the record; every record type
 * and its fields are listed in lib/mail/proto.h. A record is at most
 * IPC_RECORD_MAX bytes encoded and IPC_FIELDS_MAX fields. Receivers
 * decode with ipc_rec_decode(), which rejects anything outside this
 * grammar, and then bound-check each field they use.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_IPC_H
#define SLUICE_IPC_H

#include <stdbool.h>
#include <stddef.h>

#define IPC_RECORD_MAX	65536
#define IPC_FIELDS_MAX	1024
#define IPC_NAME_MAX	32
#define IPC_VALUE_MAX	4096

struct ipc_field {
	char *name;
	char *value;		/* decoded, NUL-terminated; may hold no NUL */
};

struct ipc_rec {
	size_t n;
	struct ipc_field *f;
};

/* ipc_rec_new - a record whose first field is type=TYPE */
struct ipc_rec *ipc_rec_new(const char *type);
void ipc_rec_free(struct ipc_rec **recp);
/* ipc_rec_add - append name=value (panics on a bad name or over-long value) */
void ipc_rec_add(struct ipc_rec *rec, const char *name, const char *value);
void ipc_rec_addf(struct ipc_rec *rec, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* ipc_rec_type - the value of the first field (never NULL) */
const char *ipc_rec_type(const struct ipc_rec *rec);
/* ipc_rec_get - the first value of name, or NULL */
const char *ipc_rec_get(const struct ipc_rec *rec, const char *name);
/* ipc_rec_get_num - parse name as a decimal in [0, max]; 0/-1 (missing or bad) */
int ipc_rec_get_num(const struct ipc_rec *rec, const char *name, unsigned long long max,
    unsigned long long *value_r);

/* ipc_rec_encode - encode into a new buffer; 0, or -1 if over IPC_RECORD_MAX */
int ipc_rec_encode(const struct ipc_rec *rec, char **buf_r, size_t *len_r);
/* ipc_rec_decode - parse buf; 0, or -1 for anything outside the grammar */
int ipc_rec_decode(const char *buf, size_t len, struct ipc_rec **rec_r);

/* ipc_send - send one record on a SEQPACKET socket; 0/-1 (errno set) */
int ipc_send(int fd, const struct ipc_rec *rec);
/*
 * ipc_send_wait - ipc_send on a non-blocking socket, waiting up to
 * wait_ms for room when the peer is slow to read. 0/-1 (errno; ETIMEDOUT).
 * XXX A full socket means the peer is busy; a short blocking wait is
 * simpler than an output queue and costs at most wait_ms.
 */
int ipc_send_wait(int fd, const struct ipc_rec *rec, int wait_ms);
/*
 * ipc_recv - receive one record: 1 got one, 0 peer closed, -1 error or
 * malformed (errno EBADMSG for malformed, EAGAIN when none is waiting).
 */
int ipc_recv(int fd, struct ipc_rec **rec_r);

/* ipc_listen - bind a SEQPACKET listener at path (replacing a stale one), mode 0600 */
int ipc_listen(const char *path, int backlog);
/* ipc_connect - connect to path; nonblocking selects O_NONBLOCK; fd or -1 */
int ipc_connect(const char *path, bool nonblocking);

#endif
