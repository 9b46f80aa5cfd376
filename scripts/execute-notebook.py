"""Executes one notebook with Jupyter's executor (nbclient) for scripts/run-notebooks.ts.

Usage: python3 execute-notebook.py INPUT OUTPUT REPORT --kernel NAME --cwd DIR [--timeout S] [--echo]

Writes the executed notebook to OUTPUT (also after a failure, with the outputs so far) and a
JSON report to REPORT: {"ok", "failed_cell", "reason", "cells": [{"index", "status", "seconds"}]}.
It stops at the first cell whose execute_reply is not "ok". tslab reports compile errors and
exceptions only that way (the message goes to the cell's stderr, no error output), and it
drops the cells queued after a failure, so a reply status is the one reliable signal.
tslab sends no execute_input either, so execution counts are taken from the replies.
"""
import argparse
import json
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


class EchoingClient(NotebookClient):
    """Also copies the cells' printed output to this process's stderr as it arrives (--echo),
    so a long run shows its progress in the terminal, not only in the saved notebook."""

    echo = False

    def output(self, outs, msg, display_id, cell_index):
        if self.echo and msg["msg_type"] == "stream":
            for line in msg["content"].get("text", "").splitlines():
                print(f"  | {line}", file=sys.stderr, flush=True)
        return super().output(outs, msg, display_id, cell_index)


PLOTLY_MIME = "application/vnd.plotly.v1+json"
# lib/util/progress.ts's line: "label [####....] 3/10 | ... | 812.3 img/s | ETA 4s" (or "took 9s").
# Its rate and times differ on every run: the terminal shows it (--echo), the saved notebook not.
PROGRESS_LINE = re.compile(r"\[[#.]{24}\] \d+/\d+ \|.*/s \| (took|ETA) ")


def tidy_outputs(nb, interactive_figures=False):
    """What a saved notebook keeps, so that a run whose numbers did not change writes the same bytes.

    - Progress lines are dropped (see PROGRESS_LINE); a stream output left empty goes.
    - Figures keep their PNG (what GitHub, nbconvert and classic Notebook show) and lose the plotly
      JSON unless interactive_figures: JupyterLab's plotly renderer redraws a figure on hover and
      then writes its own PNG into the output, which marks the notebook modified and changes the
      file. Figures drawn while you run cells yourself stay interactive; only saved runs are static.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text = "".join(line for line in out.get("text", "").splitlines(True) if not PROGRESS_LINE.search(line))
                if not text:
                    continue
                out["text"] = text
            elif not interactive_figures and PLOTLY_MIME in out.get("data", {}) and "image/png" in out["data"]:
                del out["data"][PLOTLY_MIME]
            kept.append(out)
        cell.outputs = kept


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("report")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--cwd", required=True)
    ap.add_argument("--timeout", type=float, default=0, help="seconds per cell; 0 = no limit")
    ap.add_argument("--echo", action="store_true", help="copy printed cell output to stderr")
    ap.add_argument("--interactive-figures", action="store_true", help="keep the plotly JSON of figures (see tidy_outputs)")
    args = ap.parse_args()

    nb = nbformat.read(args.input, as_version=4)
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for i in code_cells:  # no stale outputs may survive in cells that do not run
        nb.cells[i].outputs = []
        nb.cells[i].execution_count = None
        nb.cells[i].metadata.pop("execution", None)  # time stamps of an earlier run (record_timing)
    if os.environ.get("SAT_PROFILE"):
        nb.metadata["sat"] = {"profile": os.environ["SAT_PROFILE"]}

    report = {"ok": True, "failed_cell": None, "reason": None, "cells": []}
    current = {"index": None, "start": 0.0}

    def on_cell_start(cell, cell_index):
        current["index"] = cell_index
        current["start"] = time.time()

    def on_cell_executed(cell, cell_index, execute_reply):
        content = execute_reply["content"]
        if content.get("execution_count") is not None:
            cell["execution_count"] = content["execution_count"]
        seconds = round(time.time() - current["start"], 3)
        status = content.get("status")
        report["cells"].append({"index": cell_index, "status": status, "seconds": seconds})
        print(f"  cell {cell_index + 1}/{len(nb.cells)}: {status} in {seconds:.1f} s", file=sys.stderr, flush=True)

    client = EchoingClient(
        nb,
        kernel_name=args.kernel,
        timeout=args.timeout or None,
        allow_errors=False,
        record_timing=False,  # no time stamps in cell metadata: a rerun must write the same file
        resources={"metadata": {"path": args.cwd}},
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed,
    )
    client.echo = args.echo
    try:
        client.execute()
    except CellExecutionError:
        fail(report, current["index"], "the cell reported an error")
    except CellTimeoutError:
        fail(report, current["index"], f"the cell ran longer than --timeout {args.timeout:g} s")
    except DeadKernelError:
        fail(report, current["index"], "the kernel died (out of memory, or a crash in native code)")
    except Exception as e:  # kernel missing, failed to start, ...
        fail(report, current["index"], f"{type(e).__name__}: {e}")
    finally:
        tidy_outputs(nb, args.interactive_figures)
        nbformat.write(nb, args.output)
        with open(args.report, "w") as f:
            json.dump(report, f)


def fail(report, index, reason):
    report["ok"] = False
    report["failed_cell"] = index
    report["reason"] = reason


if __name__ == "__main__":
    main()
