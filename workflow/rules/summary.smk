# Merge the per-experiment summary blocks into results/<scale>/summary.json.


rule summary:
    input:
        blocks=lambda wc: summary_blocks(wc.scale),
    output:
        "results/{scale}/summary.json",
    params:
        python=JOB_PYTHON,
        job=job_spec(),
    log:
        "results/{scale}/logs/summary.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job summary {params.job:q} {log:q}"
