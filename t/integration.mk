# t/integration.mk: the Perl integration tests. Each t/NN-name.t starts a
# real sluice on free loopback ports in its own temp directory
# (t/lib/SluiceTest.pm), so they may run in parallel (make -j2 check).
# They run through the TAP driver with t/lib on @INC (T_LOG_COMPILER).
# The longest come first, so that -j2 keeps both cores busy to the end.
INTEGRATION_TESTS = \
	t/30-crash.t \
	t/20-smtp-source.t \
	t/50-bad-input.t \
	t/40-restart.t \
	t/10-receive.t \
	t/60-config.t \
	t/70-pflogsumm.t
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) t/lib/SluiceTest.pm \
	t/data/config.expected t/data/smtp-source.msg
EXTRA_DIST += t/lib/SmtpSink.pm
