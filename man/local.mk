# man/: the lead's pages; program and file pages of other parts are added
# from their own fragments.
dist_man_MANS += man/master.8 man/qmgr.8
