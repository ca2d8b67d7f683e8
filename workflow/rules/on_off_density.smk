# Theorem 3 (ON/OFF splitting): per named stimulus one batch job over the ρ × λ grid, and
# per stimulus (main ones + the sparsity family) one threshold-bisection job; each
# instance is cached on its own.  λ only scales the cost, so the certified solve is
# cached once per (stimulus, ρ) (λ-free core) and each λ's record is derived from it:
# keeping all λ of a stimulus in one job makes the later λ cache hits.
# Grids: scales.<scale>.on_off in conf/workflow.yaml.


def on_off_sweep(scale):
    return sweep(scale, "on_off")


def on_off_threshold_names(scale):
    s = on_off_sweep(scale)
    return [*s["stimuli"], *s["family"]]


def on_off_stimulus_overrides(scale, name):
    s = on_off_sweep(scale)
    named = {**s["stimuli"], **s["family"]}
    return ["experiment=on_off", *named[name], f"stimulus.n_samples={s['n_samples']}"]


def on_off_batches(scale):
    s = on_off_sweep(scale)
    return [f"results/{scale}/on_off/batches/{name}.json" for name in s["stimuli"]]


def on_off_batch_overrides(wildcards):
    s = on_off_sweep(wildcards.scale)
    base = on_off_stimulus_overrides(wildcards.scale, wildcards.stimulus)
    return [[*base, f"rho={rho}", f"lam={lam}"]
            for rho, lam in itertools.product(s["rho"], s["lam"])]


rule on_off_batch:
    output:
        "results/{scale}/on_off/batches/{stimulus}.json",
    wildcard_constraints:
        stimulus="[a-z0-9_.]+",
    params:
        overrides=on_off_batch_overrides,
        cache_dir=CACHE_DIR,
        conf_dir=CONF_DIR,
    log:
        "results/{scale}/logs/on_off/batch_{stimulus}.log",
    benchmark:
        "results/{scale}/benchmarks/on_off/batch_{stimulus}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    script:
        "../scripts/solve_batch.py"


rule on_off_threshold:
    output:
        "results/{scale}/on_off/thresholds/{stimulus}.json",
    wildcard_constraints:
        stimulus="[a-z0-9_.]+",
    params:
        overrides=lambda wc: {
            wc.stimulus: [*on_off_stimulus_overrides(wc.scale, wc.stimulus),
                          "experiment.mode=threshold"]
        },
        cache_dir=CACHE_DIR,
        conf_dir=CONF_DIR,
    log:
        "results/{scale}/logs/on_off/threshold_{stimulus}.log",
    benchmark:
        "results/{scale}/benchmarks/on_off/threshold_{stimulus}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    script:
        "../scripts/solve_batch.py"


rule on_off_figure:
    input:
        batches=lambda wc: on_off_batches(wc.scale),
        thresholds=lambda wc: [f"results/{wc.scale}/on_off/thresholds/{name}.json"
                               for name in on_off_threshold_names(wc.scale)],
    output:
        pdf="results/{scale}/figures/fig3_on_off.pdf",
        png=report(
            "results/{scale}/figures/fig3_on_off.png",
            caption="../report/fig3_on_off.rst",
            category="Figures",
        ),
        summary="results/{scale}/summaries/on_off.json",
    params:
        names=lambda wc: list(on_off_sweep(wc.scale)["stimuli"]),
        showcase=lambda wc: dict(on_off_sweep(wc.scale)["showcase"]),
    log:
        "results/{scale}/logs/on_off/figure.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/fig3_on_off.py"
