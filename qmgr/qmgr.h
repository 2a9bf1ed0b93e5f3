/* qmgr.h - the queue manager's state, shared by its modules */
#ifndef SLUICE_QMGR_H
#define SLUICE_QMGR_H

#include <stdbool.h>

#include "mail/qctl.h"

struct config;
struct ev_loop;

struct qmgr {
	const char *config_dir;
	bool foreground;
	struct config *cfg;
	struct ev_loop *loop;
	struct qctl_env env;	/* config, open index, queue directory */
	int lock_fd;		/* index/.lock, held for our lifetime */
	int private_fd;		/* private/qmgr listener (smtpd) */
	int public_fd;		/* public/qmgr listener (CLI) */
};

/* qmgr_init - config, index (recovered, reconciled), listeners; fatal on failure */
void qmgr_init(struct qmgr *q);
/* qmgr_run - the event loop until SIGTERM; exit status */
int qmgr_run(struct qmgr *q);

#endif
