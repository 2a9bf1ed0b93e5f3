# t/integration.mk: the Perl integration tests. Each t/NN-name.t starts a
# real sluice on free loopback ports in its own temp directory
# (t/lib/SluiceTest.pm), so they may run in parallel (make -j2 check).
# They run through the TAP driver with t/lib on @INC (T_LOG_COMPILER).
INTEGRATION_TESTS = \
	t/20-smtp-source.t \
	t/10-receive.t
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) t/lib/SluiceTest.pm \
	t/data/smtp-source.msg
