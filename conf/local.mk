# conf: the example configuration (what the quick start runs), installed
# as examples under $(docdir)/examples; an operator copies them to
# $(sysconfdir)/sluice.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
confexampledir = $(docdir)/examples
dist_confexample_DATA = conf/sluice.conf conf/domains
# The example passwd holds a (demo) CRAM-MD5 secret, as good as a
# password: installed root, mail_owner's group, 0640, as "sluice passwd"
# keeps the real one, never 0644. The group is set when installing as
# root and it exists (make install SLUICE_MAIL_GROUP=... for another).
SLUICE_MAIL_GROUP = sluice
EXTRA_DIST += conf/passwd
install-data-local: install-conf-passwd
install-conf-passwd:
	$(MKDIR_P) '$(DESTDIR)$(confexampledir)'
	$(INSTALL) -m 0640 '$(srcdir)/conf/passwd' '$(DESTDIR)$(confexampledir)/passwd'
	@if [ "$$(id -u)" = 0 ] && getent group '$(SLUICE_MAIL_GROUP)' >/dev/null; then \
		chgrp '$(SLUICE_MAIL_GROUP)' '$(DESTDIR)$(confexampledir)/passwd'; \
	else \
		echo "note: $(confexampledir)/passwd left in group $$(id -gn):" \
		    "chgrp it to mail_owner's group when you copy it to $(sysconfdir)/sluice"; \
	fi
uninstall-local:
	rm -f '$(DESTDIR)$(confexampledir)/passwd'
.PHONY: install-conf-passwd
# The file format pages (their text must name every parameter of
# lib/mail/config.c: t/config_test checks).
dist_man_MANS += man/sluice.conf.5 man/sluice-domains.5
