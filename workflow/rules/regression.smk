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
        python=sys.executable,
    log:
        f"results/{SCALE}/logs/regression.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../environment.yml"
    shell:
        "{params.python} -m convex_coding.pipeline.regression compare {input.summary}"
        " --reference {input.reference} --tolerances {input.tolerances}"
        " > {log} 2>&1 && cp {log} {output} || (cat {log}; exit 1)"
