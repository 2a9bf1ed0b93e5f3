/*
 * fuzz.h - what the libFuzzer harnesses under t/fuzz/ share.
 *
 * Each harness is one file, t/fuzz/fuzz_NAME.c, defining
 * LLVMFuzzerTestOneInput() over one parser family and calling the real
 * library functions (never a copy). Built only with
 * `configure CC=clang --enable-fuzz` by `make fuzz`; run by
 * `./build.sh fuzz` on its seed corpus t/fuzz/corpus/NAME/.
 *
 * A harness must not keep state between inputs beyond what its
 * LLVMFuzzerInitialize() sets up, or a crash would not reproduce from
 * its input alone. A harness with nothing to set up defines none: the
 * default one in fuzz_util.c quiets the log (fuzz_quiet) under the
 * program's name. One that defines its own calls fuzz_quiet() first.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_FUZZ_H
#define SLUICE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_CHECK - an invariant of the parser under test; abort() (a finding) if false */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)
/* fuzz_fail - report a broken invariant and abort */
_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/* fuzz_quiet - log to /dev/null (FUZZ_LOG=1 in the environment: stderr) */
void fuzz_quiet(const char *progname);
/* fuzz_str - data as a new NUL-terminated string (NULs kept inside) */
char *fuzz_str(const uint8_t *data, size_t size);
/* fuzz_tmpdir - this process's scratch directory under $FUZZ_TMPDIR, else
 * /dev/shm or /tmp; made once, removed at exit */
const char *fuzz_tmpdir(void);
/* fuzz_write - replace path with size octets of data; panics on failure */
void fuzz_write(const char *path, const uint8_t *data, size_t size);

#endif
