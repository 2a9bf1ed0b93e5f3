# debian/: the Debian package (dpkg-buildpackage -us -uc -b), shipped in
# the release tarball so that t/99-deb-install.t can build it from a
# `make distdir` tree, as a distribution would from the tarball.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
EXTRA_DIST += debian/changelog debian/control debian/copyright \
	debian/rules debian/source/format debian/postinst debian/postrm \
	debian/sluice.dirs debian/etc/sluice.conf debian/etc/passwd \
	debian/local.mk
TESTS += t/99-deb-install.t
EXTRA_DIST += t/99-deb-install.t
