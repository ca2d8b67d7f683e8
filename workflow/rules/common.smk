# Shared helpers: the chosen scale, the sweep expansion into Hydra overrides, and the
# digest of the Hydra files each job reads (a job reruns when one of them changes).
import functools
import hashlib
import itertools
import json
import os
import re
import sys
from pathlib import Path

import yaml


def check_workflow_config(cfg):
    """conf/workflow.yaml (and --config): one line naming the key (schema, NaN/inf, the
    scale, group options against conf/; convex_coding.pipeline.workflow_config)."""
    from convex_coding.pipeline.workflow_config import check_workflow_config as _check

    error = _check(cfg, Path(workflow.basedir) / "workflow/schemas/workflow.schema.yaml",
                   Path(workflow.basedir) / "conf")
    if error is not None:
        sys.stderr.write(f"error: {error}\n")
        sys.exit(1)


check_workflow_config(config)
SCALES = list(config["scales"])
SCALE = str(config.get("scale", "paper"))
if SCALE not in SCALES:
    raise ValueError(f"scale={SCALE!r} is invalid; allowed: {', '.join(SCALES)}")
CACHE_DIR = config["cache_dir"]
CONF_DIR = str(Path(workflow.basedir) / "conf")  # Hydra configs of this checkout
# the same folder as a job param: relative, so a moved or copied checkout reruns nothing
CONF_PARAM = os.path.relpath(CONF_DIR)


wildcard_constraints:
    scale="|".join(SCALES),


#: the interpreter of every job (`python -m convex_coding.pipeline.job KIND SPEC LOG`): the
#: one running this workflow, or `python` of the job's own conda environment or container
JOB_PYTHON = "python" if workflow.deployment_settings.deployment_method else sys.executable

#: longest job spec passed on a command line (Linux refuses one argument over 128 KiB)
MAX_SPEC_BYTES = 120_000


def job_spec(**params):
    """A job's inputs and outputs (by name, or by position when unnamed), wildcards and
    `params` (a callable is called with the wildcards) as the one JSON argument of
    `convex_coding.pipeline.job`."""

    def files(named_list):
        """name → path (or list of paths); an unnamed file under its position."""
        named = {k: v if isinstance(v, str) else list(v) for k, v in named_list.items()}
        if sum(1 if isinstance(v, str) else len(v) for v in named.values()) < len(named_list):
            named = {str(i): f for i, f in enumerate(named_list)} | named
        return named

    def spec(wildcards, input, output):
        values = {k: v(wildcards) if callable(v) else v for k, v in params.items()}
        text = json.dumps({
            "input": files(input),
            "output": files(output),
            "params": values,
            "wildcards": dict(wildcards.items()),
        }, sort_keys=True)
        if len(text.encode()) > MAX_SPEC_BYTES:
            raise ValueError(f"the job for {list(output)} has {len(text.encode())} bytes "
                             f"of parameters (at most {MAX_SPEC_BYTES}): split its sweep "
                             "into more jobs (`jobs:` in conf/workflow.yaml)")
        return text

    return spec


def sweep(scale, experiment):
    return config["scales"][scale][experiment]


def dim_overrides(dim):
    return list(config["dim_overrides"][int(dim)])


#: the name of a packed job: `part2_of_4` (a wildcard value of every packed rule)
PART = "part[0-9]+_of_[0-9]+"


def packed(scale, experiment, units, key="jobs"):
    """The jobs of one experiment's batch rule: its natural units (name → the override
    lists, or name → {instance: overrides}, of one job), or, with `jobs: N` (or `key`)
    in the scale's block of conf/workflow.yaml, N jobs `part<k>_of_<N>` taking every N-th unit
    (round robin keeps costly units apart).  Packing changes only how many processes
    run: each instance is still composed, cached and reported on its own, and the
    figures read the concatenated records."""
    n = sweep(scale, experiment).get(key)
    if not n or n >= len(units):
        return units
    names = list(units)
    jobs = {}
    for k in range(n):
        members = [units[m] for m in names[k::n]]
        if isinstance(members[0], dict):
            jobs[f"part{k + 1}_of_{n}"] = {i: ov for m in members for i, ov in m.items()}
        else:
            jobs[f"part{k + 1}_of_{n}"] = [ov for m in members for ov in m]
    return jobs


#: libyaml's safe loader where PyYAML was built with it (the same documents, ~10x faster)
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ROOT_GROUP_PREFIX = chr(47)  # a slash: Hydra marks an absolute group name with it


@functools.cache
def _defaults(path):
    """The defaults list of one Hydra file as (group, option) pairs (read once per
    parse: every job's config digest asks for the same few files)."""
    entries = (yaml.load(Path(path).read_text(), Loader=YAML_LOADER) or {}).get("defaults", [])
    pairs = []
    for entry in entries:
        if isinstance(entry, dict):
            (group, option), = entry.items()
            group = group[1:] if group.startswith(ROOT_GROUP_PREFIX) else group
            pairs.append((group.partition("@")[0], str(option)))
        elif entry != "_self_":  # `identifiability@theorem1`: a file of this group
            pairs.append((None, str(entry).partition("@")[0]))
    return pairs


@functools.cache
def _is_group(key):
    return (Path(CONF_DIR) / key).is_dir()


def hydra_files(overrides):
    """The Hydra files one run composes: conf/config.yaml and each chosen group file
    (defaults, the chosen experiment's own defaults, then `group=option` overrides).
    Only the `group=option` overrides matter, so runs that differ in values share one
    answer (the sweep's thousands of runs make a few distinct choices)."""
    return _hydra_files(tuple(item for item in overrides
                              if _is_group(item.partition("=")[0])))


@functools.cache
def _hydra_files(group_choices):
    conf = Path(CONF_DIR)
    chosen = dict(_defaults(conf / "config.yaml"))
    for item in group_choices:
        key, _, value = item.partition("=")
        chosen[key] = value
    files = [conf / "config.yaml"]
    experiment_file = conf / "experiment" / f"{chosen.get('experiment')}.yaml"
    if experiment_file.is_file():
        for group, option in _defaults(experiment_file):
            group = group or "experiment"
            if group == "experiment":
                files.append(conf / "experiment" / f"{option}.yaml")
            else:
                chosen.setdefault(group, option)
                if not any(o.startswith(f"{group}=") for o in group_choices):
                    chosen[group] = option
    files += [conf / group / f"{option}.yaml" for group, option in sorted(chosen.items())]
    return tuple(sorted({f for f in files if f.is_file()}))


def config_digest(overrides):
    """SHA-256 of the Hydra files a job's runs read: a job param, so editing one group
    file reruns exactly the jobs that compose it (`overrides`: a list or dict of lists)."""
    runs = overrides.values() if isinstance(overrides, dict) else overrides
    files = sorted({f for ov in runs for f in hydra_files(ov)})
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(CONF_DIR)).encode())
        h.update(_file_bytes(f))
    return h.hexdigest()[:16]


@functools.cache
def _file_bytes(path):
    return Path(path).read_bytes()


# ---- identifiability (rules in workflow/rules/identifiability.smk)

def identifiability_units(scale):
    """name → override lists: one job per (d, dataset, mixing), its λ's and seeds the
    instances inside it."""
    s = sweep(scale, "identifiability")
    return {
        f"d{d}_{ds}_{mx}": [
            ["experiment=identifiability", f"dataset={ds}", f"dataset.dim={d}",
             f"mixing={mx}", *dim_overrides(d), f"lambda_w={lw}", f"lambda_r={lr}",
             f"seed={seed}"]
            for lw, lr, seed in itertools.product(s["lambda_w"], s["lambda_r"], s["seeds"])
        ]
        for d, ds, mx in itertools.product(s["dims"], s["datasets"], s["mixings"])
    }


def identifiability_batches(scale):
    return [f"results/{scale}/identifiability/batches/{name}.json"
            for name in packed(scale, "identifiability", identifiability_units(scale))]


def identifiability_batch_overrides(wildcards):
    return packed(wildcards.scale, "identifiability",
                  identifiability_units(wildcards.scale))[wildcards.batch]



def identifiability_showcase_overrides(wildcards):
    return {
        name: ["experiment=identifiability", *ov]
        for name, ov in config["showcase"]["identifiability"].items()
    }



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


# ---- on_off_density (rules in workflow/rules/on_off_density.smk)

def on_off_density_sweep(scale):
    return sweep(scale, "on_off_density")



def on_off_density_threshold_jobs(scale):
    """job name → {stimulus: overrides}: one bisection per stimulus (sweep and family),
    packed by the scale's `thresholds_jobs` (see `packed`)."""
    s = on_off_density_sweep(scale)
    units = {name: {name: [*on_off_density_stimulus_overrides(scale, name),
                           "experiment.mode=threshold"]}
             for name in [*s["stimuli"], *s["family"]]}
    return packed(scale, "on_off_density", units, key="thresholds_jobs")


def on_off_density_threshold_names(scale):
    return list(on_off_density_threshold_jobs(scale))



def on_off_density_stimulus_overrides(scale, name):
    s = on_off_density_sweep(scale)
    named = {**s["stimuli"], **s["family"]}
    return ["experiment=on_off_density", *named[name], f"stimulus.n_samples={s['n_samples']}"]



def on_off_density_units(scale):
    """stimulus → {instance: overrides}: one natural job per named stimulus over its
    ρ × λ grid (all λ of a (stimulus, ρ) in one job: the later λ are cache hits),
    instances named `<stimulus> rho=<ρ> lam=<λ>`."""
    s = on_off_density_sweep(scale)
    units = {}
    for name in s["stimuli"]:
        base = on_off_density_stimulus_overrides(scale, name)
        units[name] = {f"{name} rho={rho} lam={lam}": [*base, f"rho={rho}", f"lam={lam}"]
                       for rho, lam in itertools.product(s["rho"], s["lam"])}
    return units


def on_off_density_instances(scale):
    """stimulus → its instance names in sweep order (the figure's grouping)."""
    return {name: list(instances)
            for name, instances in on_off_density_units(scale).items()}


def on_off_density_batches(scale):
    """The batch jobs' outputs: one per stimulus, or `jobs: N` packed processes."""
    return [f"results/{scale}/on_off_density/batches/{name}.json"
            for name in packed(scale, "on_off_density", on_off_density_units(scale))]


def on_off_density_batch_overrides(wildcards):
    return packed(wildcards.scale, "on_off_density",
                  on_off_density_units(wildcards.scale))[wildcards.stimulus]


def on_off_density_threshold_overrides(wildcards):
    return on_off_density_threshold_jobs(wildcards.scale)[wildcards.stimulus]


# ---- on_off: the paper's Figure 3 (rules in workflow/rules/on_off.smk)

ON_OFF_BATCHES = ("codes", "thresholds")


def on_off_overrides(wildcards):
    """name → Hydra overrides of one batch: `codes` (the p0 sweep, the dense controls and
    the natural-image variables, tunings kept) or `thresholds` (one bisection per law)."""
    s = sweep(wildcards.scale, "on_off")
    base = ["experiment=on_off", f"variable.n_cells={s['n_cells']}"]
    if wildcards.batch == "thresholds":
        return {name: [*base, "variable=slab", "experiment.mode=threshold", *ov]
                for name, ov in s["thresholds"].items()}
    law = s["sweep"]["law"]
    codes = {f"sweep_p0_{p0:g}": [*base, "variable=slab", f"variable.law={law}",
                                  f"variable.p0={p0}", "experiment.keep_tunings=true"]
             for p0 in s["sweep"]["p0"]}
    codes |= {f"control_{name}": [*base, *ov, "experiment.keep_tunings=true"]
              for name, ov in s["controls"].items()}
    codes |= {f"image_{image}_{feature}": [*base, "variable=image", f"variable.image={image}",
                                           f"variable.feature={feature}"]
              for image in s["images"] for feature in ("contrast", "edges")}
    return codes


# ---- report (rules in workflow/rules/report.smk)

REPORT_FIGURES = [
    ("fig1_identifiability", "identifiability"),
    ("fig2_tuning_uniqueness", "tuning_uniqueness"),
    ("fig3_on_off", "on_off"),
    ("ext_identifiability_cuts", "identifiability"),
    ("ext_tuning_criteria", "tuning_criteria"),
    ("ext_on_off_density", "on_off_density"),
]


def report_figures(scale):
    """The (stem, experiment) pairs whose PNG some rule of this workflow produces."""
    produced = {re.sub(r"\{(\w+),[^}]*\}", r"{\1}", str(out))  # drop inline constraints
                for r in workflow.rules for out in r.output}
    return [(stem, exp) for stem, exp in REPORT_FIGURES
            if f"results/{{scale}}/figures/{stem}.png" in produced]
# ---- summary (rules in workflow/rules/summary.smk)

def summary_blocks(scale):
    return [
        f"results/{scale}/summaries/identifiability.json",
        f"results/{scale}/summaries/on_off.json",
        f"results/{scale}/summaries/on_off_density.json",
        f"results/{scale}/summaries/tuning_uniqueness.json",
        f"results/{scale}/summaries/tuning_criteria.json",
    ]


# ---- tuning_criteria (rules in workflow/rules/tuning_criteria.smk)

def tuning_criteria_units(scale):
    """name → override lists of one natural job: one per Theorem 1 instance (their
    restart tests dominate the critical path), one per offset instance (the c ≈ 0
    factorisations), one per ON/OFF stimulus, and one for the PSD-only contrasts."""
    s = sweep(scale, "tuning_criteria")
    base = ["experiment=tuning_criteria", f"experiment.restarts={s['restarts']}"]
    t1 = s["theorem1"]
    units = {}
    grid = list(itertools.product(t1["lambda_w"], t1["lambda_r"], t1["seeds"]))
    for d in t1["dims"]:
        for ds in t1["datasets"]:
            for mx in t1["mixings"]:
                for k, (lw, lr, seed) in enumerate(grid):
                    units[f"theorem1_d{d}_{ds}_{mx}_{k}"] = [[
                        *base, f"dataset={ds}", f"dataset.dim={d}", f"mixing={mx}",
                        *t1["overrides"][int(d)], f"lambda_w={lw}", f"lambda_r={lr}",
                        f"seed={seed}"]]
    for g in s["offset"]["grid_points"]:
        for c in s["offset"]["offsets"]:
            units[f"offset_g{g}_c{c:g}"] = [[
                *base, "experiment.instance=offset", f"experiment.grid_points={g}",
                f"experiment.offset={c:g}"]]
    oo = s["on_off"]
    for stim in oo["stimuli"]:
        units[f"on_off_{stim}"] = [
            [*base, "experiment.instance=on_off", f"experiment.stimulus={stim}",
             f"experiment.rho={rho}", f"experiment.n_samples={oo['n_samples']}"]
            for rho in oo["rho"]
        ]
    contrast = s["contrast"]
    units["contrast"] = [
        [*base, "experiment.instance=offset", "experiment.nonnegative=false",
         f"experiment.grid_points={contrast['grid_points']}", f"experiment.offset={c}"]
        for c in contrast["offsets"]
    ] + [
        [*base, "experiment.nonnegative=false", f"dataset={ds}", "dataset.dim=2",
         *t1["overrides"][2], f"seed={seed}"]
        for ds in contrast["theorem1_datasets"] for seed in contrast["theorem1_seeds"]
    ]
    return units


def tuning_criteria_batches(scale):
    return [
        f"results/{scale}/tuning_criteria/batches/{name}.json"
        for name in packed(scale, "tuning_criteria", tuning_criteria_units(scale))
    ]


def tuning_criteria_overrides(wildcards):
    return packed(wildcards.scale, "tuning_criteria",
                  tuning_criteria_units(wildcards.scale))[wildcards.batch]



def tuning_criteria_showcase_overrides(wildcards):
    return {
        name: ["experiment=tuning_criteria", "experiment.keep_restarts=true", *ov]
        for name, ov in config["showcase"]["tuning_criteria"].items()
    }


# ---- tuning_uniqueness (rules in workflow/rules/tuning_uniqueness.smk)

TUNING_UNIQUENESS_SHOWCASE = {
    "separated_place_cells": ["population=place", "population.overlap=0.3"],
    "overlapping_place_cells": ["population=place", "population.overlap=1.0",
                                "population.broad_every=3"],
    "grid_non_integer": ["population=grid", "population.ratio=2.5"],
    "grid_integer": ["population=grid", "population.ratio=2"],
}



def tuning_uniqueness_units(scale):
    """name → override lists: one job per nested-field overlap and per grid period ratio."""
    s = sweep(scale, "tuning_uniqueness")
    base = ["experiment=tuning_uniqueness", f"experiment.restarts={s['restarts']}"]
    units = {f"overlap_{o:g}": [[*base, "population=place", f"population.overlap={o:g}",
                                 "population.broad_every=3"]] for o in s["overlaps"]}
    units.update({f"ratio_{r:g}": [[*base, "population=grid", f"population.ratio={r:g}"]]
                  for r in s["ratios"]})
    return units


def tuning_uniqueness_batches(scale):
    return [
        f"results/{scale}/tuning_uniqueness/batches/{name}.json"
        for name in packed(scale, "tuning_uniqueness", tuning_uniqueness_units(scale))
    ]


def tuning_uniqueness_overrides(wildcards):
    return packed(wildcards.scale, "tuning_uniqueness",
                  tuning_uniqueness_units(wildcards.scale))[wildcards.batch]



def tuning_uniqueness_showcase_overrides(wildcards):
    s = sweep(wildcards.scale, "tuning_uniqueness")
    return {
        name: ["experiment=tuning_uniqueness", f"experiment.restarts={s['restarts']}",
               "experiment.keep_tunings=true", *ov]
        for name, ov in TUNING_UNIQUENESS_SHOWCASE.items()
    }
