# t/release.mk: integration tests of the release path (issue 3)
