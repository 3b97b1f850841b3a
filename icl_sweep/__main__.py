"""python3 -m icl_sweep COMMAND ...: plot (a flexible figure, icl_sweep/plot.py)."""
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    commands = {"plot": "a flexible figure from results files (python3 -m icl_sweep plot --help)"}
    if not argv or argv[0] not in commands:
        print("usage: python3 -m icl_sweep COMMAND ...\n" + "\n".join(f"  {c}: {h}" for c, h in commands.items()),
              file=sys.stderr)
        return 2
    from . import plot
    return plot.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
