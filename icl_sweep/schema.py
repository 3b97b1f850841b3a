"""The results file's schema version that this package reads (docs/interface.md); the test
docs_tables checks that it is the program's (icl-sweep --schema-version)."""

SCHEMA_VERSION = 10
# Older versions that this package still reads: 7 differs in how the text columns are stored
# (fixed-length strings, not enumerations), which the reader handles; 9 lacks the column device.
READABLE_VERSIONS = (7, 8, 9, 10)


class SchemaMismatch(ValueError):
    """A file of another schema version, or not a results file at all."""


def check(f, path):
    """Raises SchemaMismatch naming the file when an h5py File `f` is of no READABLE_VERSIONS."""
    if "results" not in f:
        raise SchemaMismatch(f"{path}: not an icl-sweep results file (no /results)")
    found = int(f.attrs.get("schema_version", 1))
    if found not in READABLE_VERSIONS:
        raise SchemaMismatch(f"{path}: results schema version {found}; this analysis reads versions "
                             f"{', '.join(map(str, READABLE_VERSIONS))} (docs/interface.md)")
