/*
 * prober.h - what prober's modules share.
 *
 *	prober.c	main(): options, config, signals, the loop
 *	prober_sched.c	the probe list from qmgr, each domain's schedule and
 *			back-off, the trigger on success, state-change logs
 *	prober_probe.c	one probe: route -> address, connect, 220, QUIT
 *
 * Every PROBER_POLL_MS the prober asks qmgr for the held domains that
 * have mail, a closed gate and probe= set (type=probelist). Each such
 * domain has a schedule: a probe when it first shows up, then one every
 * probe= interval; a failure doubles the interval up to probe_max, a
 * success resets it and sends qmgr a trigger with source=probe, which
 * opens the gate as any trigger does. New mail (qmgr's arrivals count
 * grew) brings the next probe forward to within seconds (PROBER_SOON_*).
 * Each change of a schedule is told to qmgr (type=probed), which shows
 * it as the next probe. A domain whose gate is open, or that has no
 * mail, is not in the list and is not probed.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_PROBER_H
#define SLUICE_PROBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* lib/util */
#include "util/events.h"
#include "util/htable.h"
/* lib/mail */
#include "mail/conf.h"

/* How often qmgr is asked for the list; qmgr answers from memory. */
#define PROBER_POLL_MS		2000
#define PROBER_QMGR_TIMEOUT_MS	5000
/* A probe due this close to a poll is started by it, not by the next. */
#define PROBER_SLACK_MS		100
/* Probes in flight at once; the rest wait for the next poll. */
#define PROBER_INFLIGHT_MAX	64
/* The longest banner line we read. */
#define PROBER_LINE_MAX		1024
/*
 * New mail for a held domain is probed PROBER_SOON_MS plus up to
 * PROBER_SOON_JITTER_MS after the poll that sees it (the jitter spreads
 * a burst of domains, as after a mail storm or a restart), but never
 * sooner than PROBER_SOON_GAP_MS after the domain's last probe: a steady
 * stream of mail costs a dead site one probe per gap, not one per poll.
 */
#define PROBER_SOON_MS		1000
#define PROBER_SOON_JITTER_MS	4000
#define PROBER_SOON_GAP_MS	10000
/* Addresses one probe tries (every address of every MX above ours). */
#define PROBER_ADDRS_MAX	16

struct dns;
struct probe;

/* What the last probe of a domain found. */
enum probe_state {
	PROBE_UNKNOWN = 0,	/* not probed yet */
	PROBE_REACHABLE,
	PROBE_UNREACHABLE,
};

/*
 * One domain's schedule. It outlives the domain's absences from the
 * list (an open gate, a flush) so that a site whose gate keeps closing
 * is probed on its interval, not at every reappearance.
 */
struct probe_domain {
	char *name;
	enum probe_state state;
	long interval;		/* seconds until the probe after the next failure */
	uint64_t started_ms;	/* ev_now() when the last probe started */
	uint64_t next_ms;	/* ev_now() of the next probe */
	uint64_t seen_ms;	/* ev_now() when it was last in the list */
	bool listed;		/* in the latest list */
	uint64_t arrivals;	/* qmgr's count of new mail at the last list */
	bool tell;		/* next_ms changed: tell qmgr (type=probed) */
	struct probe *run;	/* probe in flight, or NULL */
};

struct prober {
	struct ev_loop *loop;
	struct config *cfg;
	const char *confdir;
	struct htable *domains;		/* name -> struct probe_domain */
	struct ev_timer *poll;
	struct dns *dns;		/* made at the first name to resolve */
	size_t inflight;
	bool qmgr_down;			/* the last probelist failed (logged once) */
};

/* The outcome of one probe. */
struct probe_result {
	bool ok;		/* a 220 banner */
	char where[320];	/* "host[addr]:port", or the route */
	char why[256];		/* failure text, "" on success */
};

/* prober_sched.c */
/* prober_new - the prober with cfg (taken over); starts polling qmgr */
struct prober *prober_new(struct ev_loop *loop, const char *confdir,
    struct config *cfg);
/* prober_free - cancel probes, free everything, set *prp to NULL */
void prober_free(struct prober **prp);
/* prober_reload - take over a configuration loaded after SIGHUP (daemon_reload_fn) */
void prober_reload(struct config *cfg, void *ctx);
/*
 * prober_backoff - the interval after a probe with result ok, given the
 * previous state and interval, the domain's probe= base and probe_max.
 */
long prober_backoff(bool ok, enum probe_state prev, long interval, long base,
    long max);
/* prober_done - a probe of pd finished with r (called by prober_probe.c) */
void prober_done(struct prober *pr, struct probe_domain *pd,
    const struct probe_result *r);

/* prober_probe.c */
/* probe_start - probe domain pd now; prober_done() follows, never inside */
void probe_start(struct prober *pr, struct probe_domain *pd);
/* probe_cancel - abandon a probe in flight (prober_done() never runs) */
void probe_cancel(struct probe **pp);

#endif
