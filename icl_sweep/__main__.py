"""python3 -m icl_sweep COMMAND ...: the command-line analysis of results files."""
import importlib
import sys

# command: (module of this package with a main(argv) that returns the exit status, what it does)
COMMANDS = {
    "plot": ("plot", "one flexible figure: --x, --hue, --facet, --fix, --metric"),
    "compare": ("compare", "a paired comparison of two settings over training replicates: interval, sign test"),
    "report": ("report", "one HTML page: summary, figures, config and provenance"),
    "analyze": ("analyze", "summary.csv, convergence, error against M, phase diagrams, robustness panels"),
    "models": ("model_figures", "trained models compared: the paper's layout, sampled training, depth"),
    "demo-table": ("demo_table", "the demo's headline table (scripts/demo.sh)"),
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print("usage: python3 -m icl_sweep COMMAND ... (python3 -m icl_sweep COMMAND --help)\n"
              + "\n".join(f"  {c:11s} {h}" for c, (_, h) in COMMANDS.items()), file=sys.stderr)
        return 2
    module = importlib.import_module(f".{COMMANDS[argv[0]][0]}", __package__)
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
