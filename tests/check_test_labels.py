#!/usr/bin/env python3
"""Fails when a test that starts the real binary or a PostgreSQL server would run as `unit`.

ctest's labels come from gtest filters (tests/CMakeLists.txt, E2E_TEST_PATTERNS): a test whose
full name matches one of the patterns is `e2e`, every other one `unit`. A suite added to
tests/e2e/ under a new name, or a new test that starts PostgreSQL, would silently become a
`unit` test and make `ctest -L unit` slow; this check names it instead.

Usage: check_test_labels.py TESTS_DIR PATTERN...
"""
import fnmatch
import os
import re
import sys

TEST_MACRO = re.compile(r'^\s*(TEST|TEST_F|TEST_P)\(\s*(\w+)\s*,\s*(\w+)', re.MULTILINE)
INSTANTIATION = re.compile(r'INSTANTIATE_(?:TEST_SUITE_P|STORE_ENGINES)\(\s*(\w+)(?:\s*,\s*(\w+))?')
# Files that start a PostgreSQL server themselves (not through the engine-parameterised
# store suites, whose postgresql instances the "*/postgresql" pattern covers).
STARTS_POSTGRESQL = re.compile(r'postgres_server::shared\(\)|postgres_server\s+\w+')


def matches(name, patterns):
    # gtest's wildcards: '*' any string, '?' one character; fnmatch's are the same here.
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def names_in(path):
    """Representative full names of the tests in one file: suite.test, or for TEST_P each
    instantiation's prefix/suite.test/postgresql (the engine that starts a server)."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    prefixes = {}
    for match in INSTANTIATION.finditer(text):
        prefix, suite = match.group(1), match.group(2)
        if suite is None:  # INSTANTIATE_STORE_ENGINES(fixture): prefix "engines"
            prefix, suite = 'engines', prefix
        prefixes.setdefault(suite, []).append(prefix)
    for macro, suite, test in TEST_MACRO.findall(text):
        if macro == 'TEST_P':
            for prefix in prefixes.get(suite, ['*']):
                yield f'{prefix}/{suite}.{test}/postgresql'
        else:
            yield f'{suite}.{test}'


def main():
    tests_dir, patterns = sys.argv[1], sys.argv[2:]
    missing = []
    for root, _, files in os.walk(tests_dir):
        for name in sorted(files):
            if not name.endswith('_test.cpp'):
                continue
            path = os.path.join(root, name)
            in_e2e = os.path.basename(root) == 'e2e'
            with open(path, encoding='utf-8') as f:
                starts_server = bool(STARTS_POSTGRESQL.search(f.read()))
            if not in_e2e and not starts_server:
                continue
            for full_name in names_in(path):
                if not matches(full_name, patterns):
                    missing.append((os.path.relpath(path, tests_dir), full_name))
    for path, full_name in missing:
        print(f'{path}: {full_name} would be labelled unit; add its suite to E2E_TEST_PATTERNS '
              'in tests/CMakeLists.txt')
    return 1 if missing else 0


if __name__ == '__main__':
    sys.exit(main())
