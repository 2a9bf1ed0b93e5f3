/*
 * odmr_client_mta - the site's own MTA, by SMTP or LMTP (RFC 2033)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

/* lib/mail */
#include "mail/odmr_client_int.h"

int
oc_mta_open(struct oc_session *ss, char *err, size_t errlen)
{
	const struct odmr_client_opts *o = ss->o;
	struct oc_reply rep;
	char line[300], flat[OC_REPLY_MAX];
	enum oc_why why;
	bool helo = false;

	ss->mta = oc_conn_open(o->mta_host != NULL ? o->mta_host : "127.0.0.1",
	    o->mta_port != 0 ? o->mta_port : o->lmtp ? ODMR_CLIENT_LMTP_PORT :
	    ODMR_CLIENT_SMTP_PORT, ss->timeout_ms, &why, err, errlen);
	if (ss->mta == NULL)
		return -1;
	snprintf(ss->mta_relay, sizeof(ss->mta_relay), "%s", ss->mta->name);
	if (oc_reply_read(ss->mta, &rep) < 0)
		goto io_error;
	if (rep.code != 220)
		goto refused;
	/* LMTP knows only LHLO (RFC 2033 4.1); an SMTP server may want HELO. */
	snprintf(line, sizeof(line), "%s %s", o->lmtp ? "LHLO" : "EHLO", ss->helo);
	if (oc_command(ss->mta, line, &rep) < 0)
		goto io_error;
	if (rep.code / 100 == 5 && !o->lmtp) {
		helo = true;
		snprintf(line, sizeof(line), "HELO %s", ss->helo);
		if (oc_command(ss->mta, line, &rep) < 0)
			goto io_error;
	}
	if (rep.code / 100 != 2)
		goto refused;
	ss->mta_ext = helo ? 0 : oc_ehlo_ext(&rep, &ss->mta_size);
	return 0;
io_error:
	snprintf(err, errlen, "%s", ss->mta->err);
	oc_conn_free(&ss->mta);
	return -1;
refused:
	snprintf(err, errlen, "%s refused the session: %.150s", ss->mta->name,
	    oc_reply_flat(&rep, flat, sizeof(flat)));
	oc_conn_free(&ss->mta);
	return -1;
}

void
oc_mta_close(struct oc_session *ss, bool quit)
{
	struct oc_reply rep;

	if (ss->mta == NULL)
		return;
	/* Only a clean session says goodbye; a dropped one must not wait. */
	if (quit)
		(void)oc_command(ss->mta, "QUIT", &rep);
	oc_conn_free(&ss->mta);
}
