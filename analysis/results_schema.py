"""The results file's schema version that this analysis reads (docs/interface.md); the test
docs_tables checks that it is the program's (icl-sweep --schema-version)."""

SCHEMA_VERSION = 3


def check(f, path):
    """Raises SystemExit naming the file when an h5py File `f` has another schema version."""
    found = int(f.attrs.get("schema_version", 1))
    if found != SCHEMA_VERSION:
        raise SystemExit(f"{path}: results schema version {found}; this analysis reads version "
                         f"{SCHEMA_VERSION} (docs/interface.md)")
