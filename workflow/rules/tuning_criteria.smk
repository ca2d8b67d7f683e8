# Extension (our own criteria, not the paper's Figure 2).
# Theorem 2 sweep: is the nonnegative factorisation of each certified optimum unique?
# One job per Theorem 1 instance, per offset instance, per ON/OFF stimulus, and one for
# the PSD-only contrasts; every instance is cached on its own, and Theorem 1 optima are
# shared with the identifiability cache.


rule tuning_criteria_batch:
    output:
        "results/{scale}/tuning_criteria/batches/{batch}.json",
    params:
        python=JOB_PYTHON,
        overrides=tuning_criteria_overrides,
        config_digest=lambda wc: config_digest(tuning_criteria_overrides(wc)),
        job=job_spec(overrides=tuning_criteria_overrides, cache_dir=CACHE_DIR,
                     conf_dir=CONF_PARAM),
    log:
        "results/{scale}/logs/tuning_criteria/{batch}.log",
    benchmark:
        "results/{scale}/benchmarks/tuning_criteria/{batch}.tsv"
    wildcard_constraints:
        batch=f"theorem1_d[23]_[a-z_]+_(orthogonal|general)_[0-9]+|offset_g[0-9]+_c[0-9.]+|on_off_[a-z_]+|contrast|{PART}",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job batch {params.job:q} {log:q}"


rule tuning_criteria_showcase:
    output:
        "results/{scale}/tuning_criteria/showcase.json",
    params:
        python=JOB_PYTHON,
        overrides=tuning_criteria_showcase_overrides,
        config_digest=lambda wc: config_digest(tuning_criteria_showcase_overrides(wc)),
        job=job_spec(overrides=tuning_criteria_showcase_overrides, cache_dir=CACHE_DIR,
                     conf_dir=CONF_PARAM),
    log:
        "results/{scale}/logs/tuning_criteria/showcase.log",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job batch {params.job:q} {log:q}"


rule tuning_criteria_figure:
    input:
        batches=lambda wc: tuning_criteria_batches(wc.scale),
        showcase="results/{scale}/tuning_criteria/showcase.json",
    output:
        pdf="results/{scale}/figures/ext_tuning_criteria.pdf",
        png=report(
            "results/{scale}/figures/ext_tuning_criteria.png",
            caption="../report/ext_tuning_criteria.rst",
            category="Extensions",
        ),
        summary="results/{scale}/summaries/tuning_criteria.json",
    params:
        python=JOB_PYTHON,
        # rendered figures are kept in the cache too (pipeline.figure_cache)
        job=job_spec(
            experiment="tuning_criteria",
            cache_dir=CACHE_DIR,
        ),
    log:
        "results/{scale}/logs/tuning_criteria/figure.log",
    benchmark:
        "results/{scale}/benchmarks/tuning_criteria/figure.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job figure {params.job:q} {log:q}"
