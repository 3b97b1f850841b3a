"""The tables of docs/interface.md are the program's own (--describe-keys, --describe-columns,
--list-spectra, --list-shifts), and so are the Python package's predictor and axis
tables (icl_sweep/predictors.json and axes.json, --describe-predictors and --describe-axes): check them, or rewrite them with --write."""
import argparse
import os
import re
import subprocess
import sys

SECTIONS = {"keys": ["--describe-keys"], "columns": ["--describe-columns"],
            "spectra": ["--list-spectra"], "shifts": ["--list-shifts"], "models": ["--list-models"]}
FENCED = {"spectra", "shifts", "models"}


def generated(program, name):
    text = subprocess.run([program] + SECTIONS[name], check=True, capture_output=True, text=True).stdout
    return f"```\n{text}```\n" if name in FENCED else text


# The Python package's copies of the program's declarations: file -> the option that prints it.
PACKAGE_JSON = {os.path.join("icl_sweep", "predictors.json"): "--describe-predictors",
                os.path.join("icl_sweep", "axes.json"): "--describe-axes"}


def repository_problems(program, repo):
    problems = []
    for path, option in PACKAGE_JSON.items():
        want = subprocess.run([program, option], check=True, capture_output=True, text=True).stdout
        with open(os.path.join(repo, path)) as f:
            if f.read() != want:
                problems.append(f"{path} differs from `icl-sweep {option}` (run scripts/update-docs.sh)")
    sys.path.insert(0, repo)
    from icl_sweep import schema
    version = int(subprocess.run([program, "--schema-version"], check=True, capture_output=True,
                                 text=True).stdout)
    if schema.SCHEMA_VERSION != version:
        problems.append(f"icl_sweep/schema.py reads schema {schema.SCHEMA_VERSION}, the program writes {version}")
    found = subprocess.run(["grep", "-rln", "../shared", "src", "sweep", "README.md", "docs"], cwd=repo,
                           capture_output=True, text=True).stdout.split()
    problems += [f"{path} cites a document outside the repository (../shared)" for path in found]
    return problems


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--program", required=True)
    p.add_argument("--doc", required=True)
    p.add_argument("--write", action="store_true")
    p.add_argument("--repo", help="also check the analysis' schema version and that nothing cites "
                                  "documents outside the repository")
    args = p.parse_args()
    doc = open(args.doc).read()
    stale = []
    for name in SECTIONS:
        pattern = re.compile(rf"(<!-- generated: {name} -->\n)(.*?)(<!-- end: {name} -->)", re.S)
        match = pattern.search(doc)
        if not match:
            stale.append(f"{name}: no generated section in {args.doc}")
            continue
        want = generated(args.program, name)
        if match.group(2) != want:
            stale.append(f"{name}: {args.doc} differs from `icl-sweep {SECTIONS[name][0]}` "
                         "(run scripts/update-docs.sh)")
            doc = doc[:match.start(2)] + want + doc[match.end(2):]
    if args.write:
        open(args.doc, "w").write(doc)
        if args.repo:
            for path, option in PACKAGE_JSON.items():
                text = subprocess.run([args.program, option], check=True, capture_output=True, text=True).stdout
                open(os.path.join(args.repo, path), "w").write(text)
        return 0
    if args.repo:
        stale += repository_problems(args.program, args.repo)
    for s in stale:
        print(f"FAIL {s}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
