/* proto - small clients of the qmgr protocol */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "mail/proto.h"
#include "util/ipc.h"
#include "util/xmalloc.h"

int
qmgr_notify_queued(const char *qdir, const char *id)
{
	char *path = xasprintf("%s/%s", qdir, PROTO_QMGR_PRIVATE);
	struct ipc_rec *rec;
	int fd, ret, saved;

	/*
	 * A fresh connection per message keeps smtpd free of reconnect state;
	 * the socket is local and the cost is small next to the fsyncs.
	 */
	fd = ipc_connect(path, true);
	free(path);
	if (fd < 0)
		return -1;
	rec = ipc_rec_new(PROTO_T_QUEUED);
	ipc_rec_add(rec, "id", id);
	ret = ipc_send(fd, rec);
	saved = errno;
	ipc_rec_free(&rec);
	close(fd);
	errno = saved;
	return ret;
}
