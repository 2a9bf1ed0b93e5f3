/*
 * pop3_test - the POP3 command parser (pop3_cmd_parse): verbs, arguments,
 * the raw rest for PASS and AUTH, and what it refuses
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

/* the program (its convenience library) */
#include "pop3/pop3.h"

#include "t/tap.h"

static const struct {
	const char *line;
	int ret; /* 0 or -1 */
	const char *verb;
	size_t narg;
	const char *arg0, *arg1, *rest;
} cases[] = {
    {"USER demo", 0, "USER", 1, "demo", NULL, "demo"},
    {"user demo", 0, "USER", 1, "demo", NULL, "demo"},
    {"STAT", 0, "STAT", 0, NULL, NULL, ""},
    {"TOP 1 10", 0, "TOP", 2, "1", "10", "1 10"},
    {"PASS two words", 0, "PASS", 2, "two", "words", "two words"},
    {"PASS a b c", 0, "PASS", 3, NULL, NULL, "a b c"},
    {"AUTH PLAIN AGRlbW8AZGVtbw==", 0, "AUTH", 2, "PLAIN",
        "AGRlbW8AZGVtbw==", "PLAIN AGRlbW8AZGVtbw=="},
    {"RETR  1", 0, "RETR", 3, NULL, NULL, " 1"},
    {"DELE 1 ", 0, "DELE", 3, NULL, NULL, "1 "},
    {"LIST 12345678901234567890123456789012345678901", 0, "LIST", 3, NULL, NULL,
        "12345678901234567890123456789012345678901"},
    {"", -1, NULL, 0, NULL, NULL, NULL},
    {"QU", -1, NULL, 0, NULL, NULL, NULL},
    {"QUITS", -1, NULL, 0, NULL, NULL, NULL},
    {"NO1P", -1, NULL, 0, NULL, NULL, NULL},
    {" NOOP", -1, NULL, 0, NULL, NULL, NULL},
    {"NOOP \x01", -1, NULL, 0, NULL, NULL, NULL},
    {"USER d\x80mo", -1, NULL, 0, NULL, NULL, NULL},
};

int
main(void)
{
	char longline[POP3_LINE_MAX + 2];
	struct pop3_cmd cmd;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r =
		    pop3_cmd_parse(cases[i].line, strlen(cases[i].line), &cmd);

		ok(r == cases[i].ret, "\"%s\": got %d, want %d", cases[i].line,
		    r, cases[i].ret);
		if (r != 0 || cases[i].ret != 0)
			continue;
		ok(strcmp(cmd.verb, cases[i].verb) == 0,
		    "\"%s\": verb %s, want %s", cases[i].line, cmd.verb,
		    cases[i].verb);
		ok(cmd.narg == cases[i].narg, "\"%s\": %zu arguments, want %zu",
		    cases[i].line, cmd.narg, cases[i].narg);
		ok(strcmp(cmd.rest, cases[i].rest) == 0,
		    "\"%s\": rest \"%s\", want \"%s\"", cases[i].line, cmd.rest,
		    cases[i].rest);
		if (cases[i].arg0 != NULL)
			ok(cmd.arg[0] != NULL &&
			        strcmp(cmd.arg[0], cases[i].arg0) == 0,
			    "\"%s\": first argument \"%s\"", cases[i].line,
			    cases[i].arg0);
		if (cases[i].arg1 != NULL)
			ok(cmd.arg[1] != NULL &&
			        strcmp(cmd.arg[1], cases[i].arg1) == 0,
			    "\"%s\": second argument \"%s\"", cases[i].line,
			    cases[i].arg1);
	}
	ok(pop3_cmd_parse("NOOP\0x", 6, &cmd) < 0,
	    "a NUL in the line is refused");
	memset(longline, 'A', sizeof(longline));
	memcpy(longline, "PASS ", 5);
	ok(pop3_cmd_parse(longline, POP3_LINE_MAX + 1, &cmd) < 0,
	    "a line past POP3_LINE_MAX octets is refused");
	ok(pop3_cmd_parse(longline, POP3_LINE_MAX, &cmd) == 0 &&
	        strlen(cmd.rest) == POP3_LINE_MAX - 5,
	    "a line of POP3_LINE_MAX octets is whole");
	return tap_done();
}
