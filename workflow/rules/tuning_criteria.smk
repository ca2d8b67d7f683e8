# Extension (our own criteria, not the paper's Figure 2).
# Theorem 2 sweep: is the nonnegative factorisation of each certified optimum unique?
# One job per Theorem 1 instance, per offset instance, per ON/OFF stimulus, and one for
# the PSD-only contrasts; every instance is cached on its own, and Theorem 1 optima are
# shared with the identifiability cache.


def tuning_criteria_batch_names(scale):
    s = sweep(scale, "tuning_criteria")
    t1 = s["theorem1"]
    n_per = len(t1["lambda_w"]) * len(t1["lambda_r"]) * len(t1["seeds"])
    # one job per Theorem 1 instance: their restart tests dominate the critical path
    names = [
        f"theorem1_d{d}_{ds}_{mx}_{k}"
        for d in t1["dims"] for ds in t1["datasets"] for mx in t1["mixings"] for k in range(n_per)
    ]
    # one job per offset instance: the c ≈ 0 factorisations dominate and run in parallel
    names += [f"offset_g{g}_c{c:g}" for g in s["offset"]["grid_points"] for c in s["offset"]["offsets"]]
    names += [f"on_off_{stim}" for stim in s["on_off"]["stimuli"]]
    names.append("contrast")
    return names


def tuning_criteria_batches(scale):
    return [
        f"results/{scale}/tuning_criteria/batches/{name}.json"
        for name in tuning_criteria_batch_names(scale)
    ]


def tuning_criteria_overrides(wildcards):
    s = sweep(wildcards.scale, "tuning_criteria")
    base = ["experiment=tuning_criteria", f"experiment.restarts={s['restarts']}"]
    name = wildcards.batch
    t1 = s["theorem1"]
    if name.startswith("theorem1_d"):
        dim, rest = name[len("theorem1_d"):].split("_", 1)
        dataset, mixing, k = rest.rsplit("_", 2)
        lw, lr, seed = list(itertools.product(t1["lambda_w"], t1["lambda_r"], t1["seeds"]))[int(k)]
        return [[*base, f"dataset={dataset}", f"dataset.dim={dim}", f"mixing={mixing}",
                 *t1["overrides"][int(dim)], f"lambda_w={lw}", f"lambda_r={lr}", f"seed={seed}"]]
    if name.startswith("offset_g"):
        g, c = name[len("offset_g"):].split("_c")
        return [[*base, "experiment.instance=offset", f"experiment.grid_points={g}",
                 f"experiment.offset={c}"]]
    if name.startswith("on_off_"):
        stim, oo = name[len("on_off_"):], s["on_off"]
        return [
            [*base, "experiment.instance=on_off", f"experiment.stimulus={stim}",
             f"experiment.rho={rho}", f"experiment.n_samples={oo['n_samples']}"]
            for rho in oo["rho"]
        ]
    contrast = s["contrast"]
    runs = [
        [*base, "experiment.instance=offset", "experiment.nonnegative=false",
         f"experiment.grid_points={contrast['grid_points']}", f"experiment.offset={c}"]
        for c in contrast["offsets"]
    ]
    runs += [
        [*base, "experiment.nonnegative=false", f"dataset={ds}", "dataset.dim=2",
         *t1["overrides"][2], f"seed={seed}"]
        for ds in contrast["theorem1_datasets"] for seed in contrast["theorem1_seeds"]
    ]
    return runs


def tuning_criteria_showcase_overrides(wildcards):
    return {
        name: ["experiment=tuning_criteria", "experiment.keep_restarts=true", *ov]
        for name, ov in config["showcase"]["tuning_criteria"].items()
    }


rule tuning_criteria_batch:
    output:
        "results/{scale}/tuning_criteria/batches/{batch}.json",
    params:
        overrides=tuning_criteria_overrides,
        config_digest=lambda wc: config_digest(tuning_criteria_overrides(wc)),
        cache_dir=CACHE_DIR,
        conf_dir=CONF_DIR,
    log:
        "results/{scale}/logs/tuning_criteria/{batch}.log",
    benchmark:
        "results/{scale}/benchmarks/tuning_criteria/{batch}.tsv"
    wildcard_constraints:
        batch="theorem1_d[23]_[a-z_]+_(orthogonal|general)_[0-9]+|offset_g[0-9]+_c[0-9.]+|on_off_[a-z_]+|contrast",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    script:
        "../scripts/solve_batch.py"


rule tuning_criteria_showcase:
    output:
        "results/{scale}/tuning_criteria/showcase.json",
    params:
        overrides=tuning_criteria_showcase_overrides,
        config_digest=lambda wc: config_digest(tuning_criteria_showcase_overrides(wc)),
        cache_dir=CACHE_DIR,
        conf_dir=CONF_DIR,
    log:
        "results/{scale}/logs/tuning_criteria/showcase.log",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        "../scripts/solve_batch.py"


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
        experiment="tuning_criteria",
    log:
        "results/{scale}/logs/tuning_criteria/figure.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/figure.py"
