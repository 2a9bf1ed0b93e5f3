/*
 * turn_wait - follow the release by finger (wait), or decide to go online (check)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

/* lib/util */
#include "util/events.h"
#include "util/xmalloc.h"
/* turn */
#include "turn/turn.h"

/* What wait knows of one MX host of one domain. */
struct turn_watch {
	bool done;
	char last[1024];		/* the last line reported, to report changes only */
};

/* turn_status_text - "3 waiting, 1 in flight, 12 delivered" in buf */
static void
turn_status_text(const struct turn_status *st, char *buf, size_t size)
{
	int n;

	n = snprintf(buf, size, "%llu waiting, %llu in flight, %llu delivered",
	    st->waiting, st->in_flight, st->delivered);
	if (n > 0 && (size_t)n < size && st->delivery == TURN_DELIVERY_FAILING)
		snprintf(buf + n, size - (size_t)n, ", failing: %s", st->detail);
	else if (n > 0 && (size_t)n < size && st->delivery == TURN_DELIVERY_WAITING)
		snprintf(buf + n, size - (size_t)n, ", waiting for the gate");
}

/* turn_poll_one - ask one MX; true once nothing waits there or is in flight */
static bool
turn_poll_one(const struct turn_opts *opts, struct turn_mx *mx,
    struct turn_watch *w)
{
	struct turn_status st;
	char addr[300], why[200], line[1024];

	if (turn_finger_query(opts, mx, false, &st, addr, sizeof(addr), why,
	    sizeof(why)) < 0) {
		snprintf(line, sizeof(line), "%s: %s: status query failed: %s",
		    addr, mx->domain, why);
	} else if (st.waiting == 0 && st.in_flight == 0) {
		turn_report("%s: %s: nothing waiting, nothing in flight%s%s", addr,
		    mx->domain, st.delivery == TURN_DELIVERY_FINISHED ?
		    "; delivery finished at " : "", st.detail);
		w->done = true;
		return true;
	} else {
		char text[256];

		turn_status_text(&st, text, sizeof(text));
		snprintf(line, sizeof(line), "%s: %s: %s", addr, mx->domain, text);
	}
	if (strcmp(line, w->last) != 0) {
		turn_report("%s", line);
		snprintf(w->last, sizeof(w->last), "%s", line);
	}
	return false;
}

/* turn_sleep_ms - sleep ms, whole */
static void
turn_sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
	    .tv_nsec = (long)(ms % 1000) * 1000000 }, rem;

	while (nanosleep(&ts, &rem) < 0)
		ts = rem;
}

int
turn_wait_run(const struct turn_opts *opts, char *const *domains,
    size_t ndomains)
{
	uint64_t deadline = ev_now() + (uint64_t)opts->timeout * 1000, now;
	struct turn_opts o = *opts;
	struct turn_watch *w = NULL;
	struct turn_mx_set set = { 0 };
	bool all;
	size_t i, left;
	int st;

	/* DNS may fail for a while after the link comes up: it gets the same time. */
	for (;;) {
		st = turn_mx_resolve(opts, domains, ndomains, &set);
		if (st != EX_TEMPFAIL)
			break;
		turn_mx_set_clear(&set);
		if (ev_now() >= deadline)
			return EX_TEMPFAIL;
		turn_sleep_ms((uint64_t)opts->interval * 1000);
	}
	if (st != 0) {
		turn_mx_set_clear(&set);
		return st;
	}
	w = xcalloc(set.n, sizeof(*w));
	for (;;) {
		all = true;
		for (i = 0; i < set.n; i++) {
			/* No MX holds wait past its --timeout by much. */
			now = ev_now();
			o.io_timeout = now >= deadline ? 1 :
			    (long)((deadline - now) / 1000) + 1;
			if (o.io_timeout > opts->io_timeout)
				o.io_timeout = opts->io_timeout;
			if (!w[i].done && !turn_poll_one(&o, &set.v[i], &w[i]))
				all = false;
		}
		now = ev_now();
		if (all || now >= deadline)
			break;
		turn_sleep_ms(deadline - now < (uint64_t)opts->interval * 1000 ?
		    deadline - now : (uint64_t)opts->interval * 1000);
	}
	for (i = left = 0; i < set.n; i++)
		left += !w[i].done;
	if (left > 0)
		turn_report("timeout after %lds: %zu of %zu MX hosts still hold mail "
		    "or did not answer", opts->timeout, left, set.n);
	else
		turn_report("all mail delivered from %zu MX host%s", set.n,
		    set.n == 1 ? "" : "s");
	free(w);
	turn_mx_set_clear(&set);
	return left > 0 ? EX_TEMPFAIL : 0;
}

int
turn_check_run(const struct turn_opts *opts, char *const *domains,
    size_t ndomains)
{
	unsigned long long messages = 0, bytes = 0;
	long long oldest = -1, want_messages = opts->messages;
	struct turn_mx_set set;
	struct turn_status st;
	char addr[300], why[200], age[32], size[32];
	size_t i, failed = 0;
	bool met;
	int r;

	if ((r = turn_mx_resolve(opts, domains, ndomains, &set)) != 0) {
		turn_mx_set_clear(&set);
		return r;
	}
	/* Without a threshold, any mail at all is reason to go online. */
	if (opts->messages < 0 && opts->bytes < 0 && opts->older_than < 0)
		want_messages = 1;
	for (i = 0; i < set.n; i++) {
		if (turn_finger_query(opts, &set.v[i], true, &st, addr, sizeof(addr),
		    why, sizeof(why)) < 0) {
			turn_report("%s: %s: status query failed: %s", addr,
			    set.v[i].domain, why);
			failed++;
			continue;
		}
		if (st.oldest < 0)
			snprintf(age, sizeof(age), "-");
		else
			snprintf(age, sizeof(age), "%llds", st.oldest);
		if (st.have_bytes)
			snprintf(size, sizeof(size), "%llu", st.bytes);
		else
			snprintf(size, sizeof(size), "unknown");
		turn_report("%s: %s: %llu waiting, %s bytes, oldest %s", addr,
		    set.v[i].domain, st.waiting, size, age);
		messages += st.waiting;
		bytes += st.bytes;
		if (st.oldest > oldest)
			oldest = st.oldest;
	}
	turn_mx_set_clear(&set);
	met = (want_messages >= 0 && messages >= (unsigned long long)want_messages) ||
	    (opts->bytes >= 0 && bytes >= (unsigned long long)opts->bytes) ||
	    (opts->older_than >= 0 && oldest >= opts->older_than);
	turn_report("thresholds %s: %llu messages, %llu bytes, oldest %llds%s",
	    met ? "met" : "not met", messages, bytes, oldest,
	    failed > 0 ? " (from the MX hosts that answered)" : "");
	if (met)
		return 0;
	return failed > 0 ? EX_TEMPFAIL : TURN_EXIT_NOT_MET;
}
