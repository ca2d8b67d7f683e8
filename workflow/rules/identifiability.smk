# Theorem 1 sweep: one job per (d, dataset, mixing); λ's and seeds are instances
# inside the job, each cached on its own, so editing one λ re-solves only its instances.


rule identifiability_batch:
    wildcard_constraints:
        batch=f"d[23]_[a-z_]+_[a-z_]+|{PART}",
    output:
        "results/{scale}/identifiability/batches/{batch}.json",
    params:
        python=JOB_PYTHON,
        overrides=identifiability_batch_overrides,
        config_digest=lambda wc: config_digest(identifiability_batch_overrides(wc)),
        job=job_spec(overrides=identifiability_batch_overrides, cache_dir=CACHE_DIR,
                     conf_dir=CONF_PARAM),
    log:
        "results/{scale}/logs/identifiability/{batch}.log",
    benchmark:
        "results/{scale}/benchmarks/identifiability/{batch}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job batch {params.job:q} {log:q}"


rule identifiability_showcase:
    output:
        "results/{scale}/identifiability/showcase.json",
    params:
        python=JOB_PYTHON,
        overrides=identifiability_showcase_overrides,
        config_digest=lambda wc: config_digest(identifiability_showcase_overrides(wc)),
        job=job_spec(overrides=identifiability_showcase_overrides, cache_dir=CACHE_DIR,
                     conf_dir=CONF_PARAM),
    log:
        "results/{scale}/logs/identifiability/showcase.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job batch {params.job:q} {log:q}"


# Figure 1: alignment of the mixing.  One batch job: each swept set, the two showcases
# and the phase diagram are named instances, each cached on its own.  Grids come from
# conf/experiment/identifiability.yaml (experiment.alignment); the sets from the sweep's
# ``alignment_sets`` (name → [set, param, measure boundaries]) when given.


rule identifiability_alignment:
    output:
        "results/{scale}/identifiability/alignment.json",
    params:
        python=JOB_PYTHON,
        overrides=identifiability_alignment_overrides,
        config_digest=lambda wc: config_digest(identifiability_alignment_overrides(wc)),
        job=job_spec(overrides=identifiability_alignment_overrides, cache_dir=CACHE_DIR,
                     conf_dir=CONF_PARAM),
    log:
        "results/{scale}/logs/identifiability/alignment.log",
    benchmark:
        "results/{scale}/benchmarks/identifiability/alignment.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job batch {params.job:q} {log:q}"


rule identifiability_figure:
    input:
        batches=lambda wc: identifiability_batches(wc.scale),
        showcase="results/{scale}/identifiability/showcase.json",
        alignment="results/{scale}/identifiability/alignment.json",
    output:
        pdf="results/{scale}/figures/fig1_identifiability.pdf",
        png=report(
            "results/{scale}/figures/fig1_identifiability.png",
            caption="../report/fig1_identifiability.rst",
            category="Figures",
        ),
        summary="results/{scale}/summaries/identifiability.json",
    params:
        python=JOB_PYTHON,
        # rendered figures are kept in the cache too (pipeline.figure_cache)
        job=job_spec(
            experiment="identifiability",
            cache_dir=CACHE_DIR,
        ),
    log:
        "results/{scale}/logs/identifiability/figure.log",
    benchmark:
        "results/{scale}/benchmarks/identifiability/figure.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job figure {params.job:q} {log:q}"


rule identifiability_cuts_figure:
    input:
        batches=lambda wc: identifiability_batches(wc.scale),
        showcase="results/{scale}/identifiability/showcase.json",
    output:
        pdf="results/{scale}/figures/ext_identifiability_cuts.pdf",
        png=report(
            "results/{scale}/figures/ext_identifiability_cuts.png",
            caption="../report/ext_identifiability_cuts.rst",
            category="Extensions",
        ),
        summary="results/{scale}/summaries/identifiability_cuts.json",
    params:
        python=JOB_PYTHON,
        # rendered figures are kept in the cache too (pipeline.figure_cache)
        job=job_spec(
            experiment="identifiability",
            cache_dir=CACHE_DIR,
        ),
    log:
        "results/{scale}/logs/identifiability/cuts_figure.log",
    benchmark:
        "results/{scale}/benchmarks/identifiability/cuts_figure.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job figure {params.job:q} {log:q}"
