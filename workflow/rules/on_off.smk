# The paper's Figure 3: ON and OFF channels of one scalar variable under an affine readout.
# Two jobs: `codes` (the Pr(I = 0) sweep, the dense controls, the natural-image variables)
# and `thresholds` (a bisection on Pr(I = 0) per slab law), then the figure.


rule on_off_batch:
    output:
        "results/{scale}/on_off/{batch}.json",
    params:
        python=JOB_PYTHON,
        overrides=on_off_overrides,
        config_digest=lambda wc: config_digest(on_off_overrides(wc)),
        job=job_spec(overrides=on_off_overrides, cache_dir=CACHE_DIR,
                     conf_dir=CONF_PARAM),
    log:
        "results/{scale}/logs/on_off/{batch}.log",
    benchmark:
        "results/{scale}/benchmarks/on_off/{batch}.tsv"
    wildcard_constraints:
        batch="|".join(ON_OFF_BATCHES),
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job batch {params.job:q} {log:q}"


rule on_off_figure:
    input:
        codes="results/{scale}/on_off/codes.json",
        thresholds="results/{scale}/on_off/thresholds.json",
    output:
        pdf="results/{scale}/figures/fig3_on_off.pdf",
        png=report(
            "results/{scale}/figures/fig3_on_off.png",
            caption="../report/fig3_on_off.rst",
            category="Figures",
        ),
        summary="results/{scale}/summaries/on_off.json",
    params:
        python=JOB_PYTHON,
        # rendered figures are kept in the cache too (pipeline.figure_cache)
        job=job_spec(
            experiment="on_off",
            cache_dir=CACHE_DIR,
            showcase_p0=lambda wc: sweep(wc.scale, "on_off")["showcase_p0"],
        ),
    log:
        "results/{scale}/logs/on_off/figure.log",
    benchmark:
        "results/{scale}/benchmarks/on_off/figure.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job figure {params.job:q} {log:q}"
