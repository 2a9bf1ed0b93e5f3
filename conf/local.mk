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

# The systemd unit and the logrotate file, with configure's paths: built
# as conf/sluice.service and conf/sluice.logrotate in the build tree
# (packaging installs them: the unit under the system unit directory, the
# other as /etc/logrotate.d/sluice). Made by sed in make, not by
# configure, so that make's $(libexecdir) etc. are fully expanded.
SLUICE_CONF_SUBST = sed \
	-e 's|%libexecdir%|$(libexecdir)|g' \
	-e 's|%sysconfdir%|$(sysconfdir)|g' \
	-e 's|%spooldir%|$(localstatedir)/spool/sluice|g' \
	-e 's|%logdir%|$(localstatedir)/log/sluice|g'
noinst_DATA = conf/sluice.service conf/sluice.logrotate
EXTRA_DIST += conf/sluice.service.in conf/sluice.logrotate.in
CLEANFILES += conf/sluice.service conf/sluice.logrotate
conf/sluice.service: $(srcdir)/conf/sluice.service.in Makefile
	@$(MKDIR_P) conf
	$(AM_V_GEN)$(SLUICE_CONF_SUBST) $(srcdir)/conf/sluice.service.in > $@.tmp && mv $@.tmp $@
conf/sluice.logrotate: $(srcdir)/conf/sluice.logrotate.in Makefile
	@$(MKDIR_P) conf
	$(AM_V_GEN)$(SLUICE_CONF_SUBST) $(srcdir)/conf/sluice.logrotate.in > $@.tmp && mv $@.tmp $@
