# `snakemake --cores 2 regress --config scale=quick`: recompute the summary and compare
# every number with the committed reference under the rules of tolerances.yaml.


rule regress:
    input:
        summary=f"results/{SCALE}/summary.json",
        reference=f"results/reference/{SCALE}/summary.json",
        tolerances="results/reference/tolerances.yaml",
    output:
        f"results/{SCALE}/regression.txt",
    params:
        python=JOB_PYTHON,
    log:
        f"results/{SCALE}/logs/regression.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.regression compare {input.summary:q}"
        " --reference {input.reference:q} --tolerances {input.tolerances:q}"
        " > {log:q} 2>&1 && cp {log:q} {output:q} || (cat {log:q}; exit 1)"
