/*
 * peer.h - what peer(8sluice)'s modules share.
 *
 *	peer.c		main(): options, config, the loop
 *	peer_srv.c	QUEUE_DIR/private/peer: qmgr's triggers, one child
 *			per pass and peer, the tries and their log lines
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_PEER_PEER_H
#define SLUICE_PEER_PEER_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct ev_loop;
struct peer_srv;

/* Passes under way at once; more are dropped with a warning. */
#define PEER_CHILDREN_MAX	64

/* peer_srv_new - listen on QUEUE_DIR/private/peer in loop (takes over cfg) */
struct peer_srv *peer_srv_new(struct ev_loop *loop, struct config *cfg);
/* peer_srv_reload - take over cfg, loaded after SIGHUP (daemon_reload_fn) */
void peer_srv_reload(struct config *cfg, void *ctx);
/* peer_srv_free - stop listening, free everything; sets *psp to NULL */
void peer_srv_free(struct peer_srv **psp);

/*
 * peer_pass_run - in a child: pass the trigger "ETRN arg" (source for the
 * log) to peers->v[i] with the tries of cfg, logging each; never returns
 * an error, only logs. Exposed for tests.
 */
void peer_pass_run(const struct config *cfg, size_t i, const char *arg,
    const char *source);

#endif
