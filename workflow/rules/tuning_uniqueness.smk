# The paper's Figure 2: place cells and grid modules, the tight-scattering condition (our
# reconstruction of Theorem 2) against a search for a non-trivial nonnegative rotation.
# One job per sweep instance (overlap of nested place fields, grid period ratio) and one for
# the four showcase populations (the paper's rows).


rule tuning_uniqueness_batch:
    output:
        "results/{scale}/tuning_uniqueness/batches/{batch}.json",
    params:
        python=JOB_PYTHON,
        overrides=tuning_uniqueness_overrides,
        config_digest=lambda wc: config_digest(tuning_uniqueness_overrides(wc)),
        job=job_spec(overrides=tuning_uniqueness_overrides, cache_dir=CACHE_DIR,
                     conf_dir=CONF_PARAM),
    log:
        "results/{scale}/logs/tuning_uniqueness/{batch}.log",
    benchmark:
        "results/{scale}/benchmarks/tuning_uniqueness/{batch}.tsv"
    wildcard_constraints:
        batch=f"(overlap|ratio)_[0-9.]+|{PART}",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job batch {params.job:q} {log:q}"


rule tuning_uniqueness_showcase:
    output:
        "results/{scale}/tuning_uniqueness/showcase.json",
    params:
        python=JOB_PYTHON,
        overrides=tuning_uniqueness_showcase_overrides,
        config_digest=lambda wc: config_digest(tuning_uniqueness_showcase_overrides(wc)),
        job=job_spec(overrides=tuning_uniqueness_showcase_overrides, cache_dir=CACHE_DIR,
                     conf_dir=CONF_PARAM),
    log:
        "results/{scale}/logs/tuning_uniqueness/showcase.log",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job batch {params.job:q} {log:q}"


rule tuning_uniqueness_figure:
    input:
        batches=lambda wc: tuning_uniqueness_batches(wc.scale),
        showcase="results/{scale}/tuning_uniqueness/showcase.json",
    output:
        pdf="results/{scale}/figures/fig2_tuning_uniqueness.pdf",
        png=report(
            "results/{scale}/figures/fig2_tuning_uniqueness.png",
            caption="../report/fig2_tuning_uniqueness.rst",
            category="Figures",
        ),
        summary="results/{scale}/summaries/tuning_uniqueness.json",
    params:
        python=JOB_PYTHON,
        # rendered figures are kept in the cache too (pipeline.figure_cache)
        job=job_spec(
            experiment="tuning_uniqueness",
            cache_dir=CACHE_DIR,
        ),
    log:
        "results/{scale}/logs/tuning_uniqueness/figure.log",
    benchmark:
        "results/{scale}/benchmarks/tuning_uniqueness/figure.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job figure {params.job:q} {log:q}"
