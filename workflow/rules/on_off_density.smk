# Extension (the project's own model, not the paper's): ON/OFF splitting under a
# per-neuron lifetime-density bound ρ: per named stimulus one batch job over the ρ × λ grid
# (or `jobs: N` packed processes), and per stimulus (main ones + the sparsity family) one
# threshold-bisection job (or `thresholds_jobs: N`); each instance is cached on its own.  λ only scales the cost, so the certified solve is
# cached once per (stimulus, ρ) (λ-free core) and each λ's record is derived from it:
# keeping all λ of a stimulus in one job makes the later λ cache hits.
# Grids: scales.<scale>.on_off_density in conf/workflow.yaml.


rule on_off_density_batch:
    output:
        "results/{scale}/on_off_density/batches/{stimulus}.json",
    wildcard_constraints:
        stimulus="[a-z0-9_.]+",
    params:
        python=JOB_PYTHON,
        overrides=on_off_density_batch_overrides,
        config_digest=lambda wc: config_digest(on_off_density_batch_overrides(wc)),
        job=job_spec(overrides=on_off_density_batch_overrides, cache_dir=CACHE_DIR,
                     conf_dir=CONF_PARAM),
    log:
        "results/{scale}/logs/on_off_density/batch_{stimulus}.log",
    benchmark:
        "results/{scale}/benchmarks/on_off_density/batch_{stimulus}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job batch {params.job:q} {log:q}"


rule on_off_density_threshold:
    output:
        "results/{scale}/on_off_density/thresholds/{stimulus}.json",
    wildcard_constraints:
        stimulus="[a-z0-9_.]+",
    params:
        python=JOB_PYTHON,
        overrides=on_off_density_threshold_overrides,
        config_digest=lambda wc: config_digest(on_off_density_threshold_overrides(wc)),
        job=job_spec(overrides=on_off_density_threshold_overrides, cache_dir=CACHE_DIR,
                     conf_dir=CONF_PARAM),
    log:
        "results/{scale}/logs/on_off_density/threshold_{stimulus}.log",
    benchmark:
        "results/{scale}/benchmarks/on_off_density/threshold_{stimulus}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job batch {params.job:q} {log:q}"


rule on_off_density_figure:
    input:
        batches=lambda wc: on_off_density_batches(wc.scale),
        thresholds=lambda wc: [f"results/{wc.scale}/on_off_density/thresholds/{name}.json"
                               for name in on_off_density_threshold_names(wc.scale)],
    output:
        pdf="results/{scale}/figures/ext_on_off_density.pdf",
        png=report(
            "results/{scale}/figures/ext_on_off_density.png",
            caption="../report/ext_on_off_density.rst",
            category="Extensions",
        ),
        summary="results/{scale}/summaries/on_off_density.json",
    params:
        python=JOB_PYTHON,
        # rendered figures are kept in the cache too (pipeline.figure_cache)
        job=job_spec(
            experiment="on_off_density",
            cache_dir=CACHE_DIR,
            stimuli=lambda wc: on_off_density_instances(wc.scale),
            showcase=lambda wc: dict(on_off_density_sweep(wc.scale)["showcase"]),
        ),
    log:
        "results/{scale}/logs/on_off_density/figure.log",
    benchmark:
        "results/{scale}/benchmarks/on_off_density/figure.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../environment.yml"
    shell:
        "{params.python:q} -m convex_coding.pipeline.job figure {params.job:q} {log:q}"
