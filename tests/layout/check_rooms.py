"""The include graph follows the rooms: src/ includes nothing of models/ or sweep/, models/ nothing
of sweep/; in sweep/, a room includes only itself and the rooms its README's line "May include:"
names, and those declarations have no cycle; a room never includes the program (sweep/*.hpp);
an include without a room names a header of src/ or models/, never one of sweep/. Exits 1 with
every breach listed."""
import argparse
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def includes(path):
    with open(path) as f:
        return INCLUDE.findall(f.read())


def sources(folder):
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            if name.endswith((".hpp", ".cpp")):
                yield os.path.join(root, name)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repo", required=True)
    args = p.parse_args()
    repo = args.repo
    sweep = os.path.join(repo, "sweep")
    breaches = []

    rooms = sorted(d for d in os.listdir(sweep) if os.path.isdir(os.path.join(sweep, d)))
    allowed = {}
    for room in rooms:
        readme = os.path.join(sweep, room, "README.md")
        if not os.path.exists(readme):
            breaches.append(f"sweep/{room}/ has no README.md saying what it owns and may include")
            continue
        with open(readme) as f:
            m = re.search(r"^May include: (.*)$", f.read(), re.M)
        if not m:
            breaches.append(f"sweep/{room}/README.md has no line 'May include: ...'")
            continue
        named = [] if m.group(1).strip() == "(no room)" else [r.strip() for r in m.group(1).split(",")]
        for r in named:
            if r not in rooms:
                breaches.append(f"sweep/{room}/README.md may include '{r}', which is no room")
        allowed[room] = set(named)

    # The declarations form no cycle (depth-first search).
    state = {}

    def visit(room, path):
        if state.get(room) == "open":
            breaches.append("rooms in a cycle: " + " -> ".join(path + [room]))
            return
        if state.get(room) == "closed":
            return
        state[room] = "open"
        for r in sorted(allowed.get(room, ())):
            visit(r, path + [room])
        state[room] = "closed"

    for room in allowed:
        visit(room, [])

    program = {f for f in os.listdir(sweep) if f.endswith(".hpp")}
    lower = {f for d in ("src", "models") for f in os.listdir(os.path.join(repo, d)) if f.endswith(".hpp")}
    for path in sources(sweep):
        rel = os.path.relpath(path, sweep)
        room = rel.split(os.sep)[0] if os.sep in rel else None
        for inc in includes(path):
            head = inc.split("/")[0] if "/" in inc else None
            where = f"sweep/{rel}: #include \"{inc}\""
            if head is None:
                if inc in program:
                    if room is not None:
                        breaches.append(f"{where}: a room includes the program")
                elif inc not in lower and inc != "build_identity.hpp":
                    breaches.append(f"{where}: a header of sweep/ must be named with its room")
            elif head not in rooms:
                breaches.append(f"{where}: no room '{head}'")
            elif room is not None and head != room and head not in allowed.get(room, ()):
                breaches.append(f"{where}: {room}/ may not include {head}/ (its README)")
            elif not os.path.exists(os.path.join(sweep, inc)):
                breaches.append(f"{where}: no such file")
    for folder, banned in (("src", ("models", "sweep")), ("models", ("sweep",))):
        sweep_headers = {os.path.relpath(p, sweep) for p in sources(sweep)} | program
        for path in sources(os.path.join(repo, folder)):
            for inc in includes(path):
                if inc in sweep_headers or (folder == "src" and inc in os.listdir(os.path.join(repo, "models"))):
                    breaches.append(f"{os.path.relpath(path, repo)}: #include \"{inc}\": {folder}/ includes "
                                    f"{' or '.join(banned)}")
    for b in breaches:
        print("FAIL:", b)
    print(f"{len(breaches)} breaches" if breaches else f"rooms {', '.join(rooms)}: the include graph follows their READMEs")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
