"""The schema version the analysis reads: the package's (icl_sweep/schema.py), one place."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from icl_sweep.schema import SCHEMA_VERSION, check  # noqa: E402,F401
