# Theorem 1 sweep: one job per (d, dataset, mixing); λ's and seeds are instances
# inside the job, each cached on its own, so editing one λ re-solves only its instances.


def identifiability_batches(scale):
    s = sweep(scale, "identifiability")
    return [
        f"results/{scale}/identifiability/batches/d{d}_{ds}_{mx}.json"
        for d, ds, mx in itertools.product(s["dims"], s["datasets"], s["mixings"])
    ]


def identifiability_batch_overrides(wildcards):
    s = sweep(wildcards.scale, "identifiability")
    base = [
        "experiment=identifiability",
        f"dataset={wildcards.dataset}",
        f"dataset.dim={wildcards.dim}",
        f"mixing={wildcards.mixing}",
        *dim_overrides(wildcards.dim),
    ]
    return [
        [*base, f"lambda_w={lw}", f"lambda_r={lr}", f"seed={seed}"]
        for lw, lr, seed in itertools.product(s["lambda_w"], s["lambda_r"], s["seeds"])
    ]


rule identifiability_batch:
    output:
        "results/{scale}/identifiability/batches/d{dim}_{dataset}_{mixing}.json",
    params:
        overrides=identifiability_batch_overrides,
        config_digest=lambda wc: config_digest(identifiability_batch_overrides(wc)),
        cache_dir=CACHE_DIR,
        conf_dir=CONF_DIR,
    log:
        "results/{scale}/logs/identifiability/d{dim}_{dataset}_{mixing}.log",
    benchmark:
        "results/{scale}/benchmarks/identifiability/d{dim}_{dataset}_{mixing}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    script:
        "../scripts/solve_batch.py"


def identifiability_showcase_overrides(wildcards):
    return {
        name: ["experiment=identifiability", *ov]
        for name, ov in config["showcase"]["identifiability"].items()
    }


rule identifiability_showcase:
    output:
        "results/{scale}/identifiability/showcase.json",
    params:
        overrides=identifiability_showcase_overrides,
        config_digest=lambda wc: config_digest(identifiability_showcase_overrides(wc)),
        cache_dir=CACHE_DIR,
        conf_dir=CONF_DIR,
    log:
        "results/{scale}/logs/identifiability/showcase.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/solve_batch.py"


# Figure 1: alignment of the mixing.  One batch job: each swept set, the two showcases
# and the phase diagram are named instances, each cached on its own.  Grids come from
# conf/experiment/identifiability.yaml (experiment.alignment); the sets from the sweep's
# ``alignment_sets`` (name → [set, param, measure boundaries]) when given.
ALIGNMENT_SETS = {
    "corner_cut 1.5": ["corner_cut", 1.5, True],
    "triangle": ["triangle", 0.0, False],
    "double_cut 0.5": ["double_cut", 0.5, False],
    "sheared 0.3": ["sheared", 0.3, False],
    "corner_cut 0.3": ["corner_cut", 0.3, True],
    "double_cut 0.3": ["double_cut", 0.3, False],
    "box 0.7": ["box", 0.7, False],
}


def identifiability_alignment_overrides(wildcards):
    s = sweep(wildcards.scale, "identifiability")
    sets = s.get("alignment_sets", ALIGNMENT_SETS)
    base = ["experiment=identifiability", "dataset=grid", "mixing=orthogonal"]
    out = {
        f"sweep_{name}": [*base, "experiment.alignment.job=sweep",
                          f"experiment.alignment.set={kind}",
                          f"experiment.alignment.param={param}",
                          f"experiment.alignment.measure_boundaries={str(bool(bnd)).lower()}"]
        for name, (kind, param, bnd) in sets.items()
    }
    out["showcase_a"] = [*base, "experiment.alignment.job=showcase",
                         "experiment.alignment.set=corner_cut", "experiment.alignment.param=1.5",
                         "experiment.alignment.showcase_c=[0.0,-0.5,0.5]"]
    out["showcase_b"] = [*base, "experiment.alignment.job=showcase",
                         "experiment.alignment.set=corner_cut", "experiment.alignment.param=0.3",
                         "experiment.alignment.showcase_c=[0.0,-0.3,0.5]"]
    out["phase"] = [*base, "experiment.alignment.job=phase",
                    "experiment.alignment.set=corner_cut",
                    *s.get("alignment_phase", [])]
    return out


rule identifiability_alignment:
    output:
        "results/{scale}/identifiability/alignment.json",
    params:
        overrides=identifiability_alignment_overrides,
        config_digest=lambda wc: config_digest(identifiability_alignment_overrides(wc)),
        cache_dir=CACHE_DIR,
        conf_dir=CONF_DIR,
    log:
        "results/{scale}/logs/identifiability/alignment.log",
    benchmark:
        "results/{scale}/benchmarks/identifiability/alignment.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    script:
        "../scripts/solve_batch.py"


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
        experiment="identifiability",
    log:
        "results/{scale}/logs/identifiability/figure.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/figure.py"


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
        experiment="identifiability",
    log:
        "results/{scale}/logs/identifiability/cuts_figure.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/figure.py"
