# The paper's Figure 2: place cells and grid modules, the tight-scattering condition (our
# reconstruction of Theorem 2) against a search for a non-trivial nonnegative rotation.
# One job per sweep instance (overlap of nested place fields, grid period ratio) and one for
# the four showcase populations (the paper's rows).

TUNING_UNIQUENESS_SHOWCASE = {
    "separated_place_cells": ["population=place", "population.overlap=0.3"],
    "overlapping_place_cells": ["population=place", "population.overlap=1.0",
                                "population.broad_every=3"],
    "grid_non_integer": ["population=grid", "population.ratio=2.5"],
    "grid_integer": ["population=grid", "population.ratio=2"],
}


def tuning_uniqueness_batch_names(scale):
    s = sweep(scale, "tuning_uniqueness")
    return [f"overlap_{o:g}" for o in s["overlaps"]] + [f"ratio_{r:g}" for r in s["ratios"]]


def tuning_uniqueness_batches(scale):
    return [
        f"results/{scale}/tuning_uniqueness/batches/{name}.json"
        for name in tuning_uniqueness_batch_names(scale)
    ]


def tuning_uniqueness_overrides(wildcards):
    s = sweep(wildcards.scale, "tuning_uniqueness")
    base = ["experiment=tuning_uniqueness", f"experiment.restarts={s['restarts']}"]
    kind, value = wildcards.batch.split("_", 1)
    if kind == "overlap":
        return [[*base, "population=place", f"population.overlap={value}",
                 "population.broad_every=3"]]
    return [[*base, "population=grid", f"population.ratio={value}"]]


def tuning_uniqueness_showcase_overrides(wildcards):
    s = sweep(wildcards.scale, "tuning_uniqueness")
    return {
        name: ["experiment=tuning_uniqueness", f"experiment.restarts={s['restarts']}",
               "experiment.keep_tunings=true", *ov]
        for name, ov in TUNING_UNIQUENESS_SHOWCASE.items()
    }


rule tuning_uniqueness_batch:
    output:
        "results/{scale}/tuning_uniqueness/batches/{batch}.json",
    params:
        overrides=tuning_uniqueness_overrides,
        config_digest=lambda wc: config_digest(tuning_uniqueness_overrides(wc)),
        cache_dir=CACHE_DIR,
        conf_dir=CONF_DIR,
    log:
        "results/{scale}/logs/tuning_uniqueness/{batch}.log",
    benchmark:
        "results/{scale}/benchmarks/tuning_uniqueness/{batch}.tsv"
    wildcard_constraints:
        batch="(overlap|ratio)_[0-9.]+",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    script:
        "../scripts/solve_batch.py"


rule tuning_uniqueness_showcase:
    output:
        "results/{scale}/tuning_uniqueness/showcase.json",
    params:
        overrides=tuning_uniqueness_showcase_overrides,
        config_digest=lambda wc: config_digest(tuning_uniqueness_showcase_overrides(wc)),
        cache_dir=CACHE_DIR,
        conf_dir=CONF_DIR,
    log:
        "results/{scale}/logs/tuning_uniqueness/showcase.log",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        "../scripts/solve_batch.py"


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
        experiment="tuning_uniqueness",
    log:
        "results/{scale}/logs/tuning_uniqueness/figure.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/figure.py"
