# `snakemake --cores 2 benchmarks [--config scale=quick]`: convex vs trained, solve time
# against T, whole-pipeline wall times (benchmarks/*.py).  Not part of `all`: it takes
# ~25 minutes on 2 cores and measures this machine; request it on its own (nothing else
# running) so that the timings are fair.


rule benchmarks:
    output:
        json=f"results/{SCALE}/benchmarks.json",
        figures=multiext(f"results/{SCALE}/figures/benchmarks", ".pdf", ".png"),
    params:
        python=JOB_PYTHON,
        script=str(Path(workflow.basedir) / "benchmarks" / "run_all.py"),
        scale=SCALE,
    log:
        f"results/{SCALE}/logs/benchmarks.log",
    threads: 1  # a fixed count: `workflow.cores` breaks --report and cluster executors
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} {params.script:q} --scale {params.scale:q} > {log:q} 2>&1"
        " || (tail -n 30 {log:q}; exit 1)"
