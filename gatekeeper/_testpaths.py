"""Directory names that hold a project's tests and test data: one list for every audit.

Each audit lowers a finding in these places by its own rule (a fixture lockfile, a test
key, a deliberately vulnerable action kept as test input) and says why; none hides one.
"""

from __future__ import annotations

# Directories whose files are input to the project's tests (fixtures and test data), any
# depth, compared in lower case.
TEST_DATA_DIRS = frozenset(
    {"fixtures", "fixture", "__fixtures__", "testdata", "test-data", "test_data", "testfixtures"}
)

# Directories of tests themselves, with the test data above.
TEST_DIRS = TEST_DATA_DIRS | frozenset(
    {
        "test",
        "tests",
        "testing",
        "__tests__",
        "__test__",
        "spec",
        "specs",
        "__mocks__",
        "__snapshots__",
        "mocks",
        "stubs",
        "e2e",
        "regress",
    }
)
