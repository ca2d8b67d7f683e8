# Every figure of the paper, and the project's extensions, from one command.
#   snakemake --cores 8                      # paper scale
#   snakemake --cores 2 --config scale=quick # minutes on a laptop
import time

from snakemake.utils import min_version

min_version("8.0")
_STARTED = time.monotonic()


configfile: "conf/workflow.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/guard.smk"
include: "workflow/rules/common.smk"
include: "workflow/rules/identifiability.smk"
include: "workflow/rules/tuning_uniqueness.smk"
include: "workflow/rules/on_off.smk"
include: "workflow/rules/on_off_density.smk"
include: "workflow/rules/tuning_criteria.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/regression.smk"
include: "workflow/rules/benchmarks.smk"


rule all:
    input:
        multiext(f"results/{SCALE}/figures/fig1_identifiability", ".pdf", ".png"),
        multiext(f"results/{SCALE}/figures/fig2_tuning_uniqueness", ".pdf", ".png"),
        multiext(f"results/{SCALE}/figures/fig3_on_off", ".pdf", ".png"),
        multiext(f"results/{SCALE}/figures/ext_identifiability_cuts", ".pdf", ".png"),
        multiext(f"results/{SCALE}/figures/ext_on_off_density", ".pdf", ".png"),
        multiext(f"results/{SCALE}/figures/ext_tuning_criteria", ".pdf", ".png"),
        f"results/{SCALE}/summary.json",
        f"results/{SCALE}/report.html",


onsuccess:
    import json

    from convex_coding.pipeline.report import end_of_run_message

    summary_path = Path(f"results/{SCALE}/summary.json")
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        print(end_of_run_message(SCALE, summary, time.monotonic() - _STARTED))
