# man/: the lead's pages; program and file pages of other parts are added
# from their own fragments.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
dist_man_MANS += man/master.8sluice man/qmgr.8sluice
