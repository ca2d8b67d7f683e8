# The report landing page: results/<scale>/report.html, every figure with its caption under it
# and the headline numbers of results/<scale>/summary.json (self-contained HTML).

#: (figure stem, experiment name); the lead extends this as figures are added to rule all


rule report:
    input:
        pngs=lambda wc: [f"results/{wc.scale}/figures/{s}.png" for s, _ in report_figures(wc.scale)],
        captions=lambda wc: [f"workflow/report/{s}.rst" for s, _ in report_figures(wc.scale)],
        summary="results/{scale}/summary.json",
    output:
        "results/{scale}/report.html",
    params:
        python=JOB_PYTHON,
        # a page drawn before from the same inputs is kept in the cache (figure cache)
        job=job_spec(figures=lambda wc: report_figures(wc.scale), cache_dir=CACHE_DIR),
    log:
        "results/{scale}/logs/report.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job report {params.job:q} {log:q}"
