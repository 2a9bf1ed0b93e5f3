# conf: the example configuration (what the quick start runs), installed
# as examples under $(docdir)/examples; an operator copies them to
# $(sysconfdir)/sluice.
confexampledir = $(docdir)/examples
dist_confexample_DATA = conf/sluice.conf conf/domains conf/passwd
# The file format pages (their text must name every parameter of
# lib/mail/config.c: t/config_test checks).
dist_man_MANS += man/sluice.conf.5 man/sluice-domains.5
