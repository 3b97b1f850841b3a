"""The results file's schema version that this package reads (docs/interface.md); the test
docs_tables checks that it is the program's (icl-sweep --schema-version)."""

SCHEMA_VERSION = 7


class SchemaMismatch(ValueError):
    """A file of another schema version, or not a results file at all."""


def check(f, path):
    """Raises SchemaMismatch naming the file when an h5py File `f` is not of SCHEMA_VERSION."""
    if "results" not in f:
        raise SchemaMismatch(f"{path}: not an icl-sweep results file (no /results)")
    found = int(f.attrs.get("schema_version", 1))
    if found != SCHEMA_VERSION:
        raise SchemaMismatch(f"{path}: results schema version {found}; this analysis reads version "
                             f"{SCHEMA_VERSION} (docs/interface.md)")
