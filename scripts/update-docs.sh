#!/usr/bin/env bash
# Rewrites the generated tables of docs/interface.md and icl_sweep/{predictors,axes}.json from the built
# program (build/icl-sweep).
set -euo pipefail
cd "$(dirname "$0")/.."
/usr/bin/python3 tests/e2e/docs_tables.py --program build/icl-sweep --doc docs/interface.md --repo . --write
