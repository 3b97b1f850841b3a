"""python3 -m icl_sweep COMMAND ...: plot (a flexible figure, icl_sweep/plot.py), report (one HTML page
of files, icl_sweep/report.py)."""
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    commands = {"plot": "a flexible figure from results files (python3 -m icl_sweep plot --help)",
                "report": "one HTML page: summary, figures, config and provenance (python3 -m icl_sweep report --help)"}
    if not argv or argv[0] not in commands:
        print("usage: python3 -m icl_sweep COMMAND ...\n" + "\n".join(f"  {c}: {h}" for c, h in commands.items()),
              file=sys.stderr)
        return 2
    if argv[0] == "plot":
        from . import plot
        return plot.main(argv[1:])
    from . import report
    return report.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
