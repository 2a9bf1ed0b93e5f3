/*
 * odmr_client_run - the test driver of lib/mail/odmr_client: options to
 * struct odmr_client_opts, one odmr_client_run(), the result on stdout
 * ("messages=N recipients=N refused=N deferred=N exit=N error=TEXT"), the
 * log lines on stderr, and the call's sysexits code as the exit code.
 *
 *	odmr_client_run -s server [-p port] -u user -w password [-a mech]
 *	    [-d domain]...
 *	    [-t may|none|required|wrap] [-C ca_file] [-V] [-m mta_host]
 *	    [-P mta_port] [-L] [-H helo_name] [-T timeout] [-S max_size]
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "mail/odmr_client.h"

/* The TLS modes by name. */
static const struct {
	const char *name;
	enum odmr_client_tls tls;
} tls_modes[] = {
	{ "may", ODMR_TLS_MAY },
	{ "none", ODMR_TLS_NONE },
	{ "required", ODMR_TLS_REQUIRED },
	{ "wrap", ODMR_TLS_WRAP },
};

int
main(int argc, char **argv)
{
	struct odmr_client_opts o = { 0 };
	struct odmr_client_result r;
	const char *domains[100];
	size_t i;
	int c, code;

	while ((c = getopt(argc, argv, "s:p:u:w:a:d:t:C:Vm:P:LH:T:S:")) != -1) {
		switch (c) {
		case 's': o.server = optarg; break;
		case 'p': o.port = (unsigned)atoi(optarg); break;
		case 'u': o.user = optarg; break;
		case 'w': o.password = optarg; break;
		case 'a': o.auth_mech = optarg; break;
		case 'd':
			if (o.ndomains < sizeof(domains) / sizeof(domains[0]))
				domains[o.ndomains++] = optarg;
			break;
		case 't':
			for (i = 0; i < sizeof(tls_modes) / sizeof(tls_modes[0]); i++)
				if (strcmp(optarg, tls_modes[i].name) == 0)
					break;
			if (i == sizeof(tls_modes) / sizeof(tls_modes[0])) {
				fprintf(stderr, "odmr_client_run: -t %s: may, none, "
				    "required or wrap\n", optarg);
				return EX_USAGE;
			}
			o.tls = tls_modes[i].tls;
			break;
		case 'C': o.ca_file = optarg; break;
		case 'V': o.verify = true; break;
		case 'm': o.mta_host = optarg; break;
		case 'P': o.mta_port = (unsigned)atoi(optarg); break;
		case 'L': o.lmtp = true; break;
		case 'H': o.helo_name = optarg; break;
		case 'T': o.timeout = atoi(optarg); break;
		case 'S': o.max_size = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: odmr_client_run -s server -u user "
			    "-w password [options]\n");
			return EX_USAGE;
		}
	}
	o.domains = domains;
	code = odmr_client_run(&o, &r);
	printf("messages=%lu recipients=%lu refused=%lu deferred=%lu exit=%d "
	    "error=%s\n", r.messages, r.recipients, r.refused, r.deferred, code,
	    r.error);
	return code;
}
