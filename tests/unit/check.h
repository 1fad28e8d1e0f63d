/* SPDX-License-Identifier: MIT */
/*
 * check.h - the C unit tests' one assertion (tests/unit/, fs/cryptfs/tests/):
 * CHECK(cond) counts a pass, or prints the failing condition with its place and
 * counts a failure; each test prints "NAME: <passed> passed, <failed> failed" last
 * and exits nonzero on a failure.
 */
#ifndef TESTS_UNIT_CHECK_H
#define TESTS_UNIT_CHECK_H

#include <stdio.h>

static unsigned passed, failed;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (cond) {                                                          \
			passed++;                                                    \
		} else {                                                             \
			failed++;                                                    \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		}                                                                    \
	} while (0)

#endif
