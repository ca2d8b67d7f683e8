# Shared helpers: the chosen scale, the sweep expansion into Hydra overrides, and the
# digest of the Hydra files each job reads (a job reruns when one of them changes).
import hashlib
import itertools
import sys
from pathlib import Path

import jsonschema
import yaml


def check_workflow_config(cfg):
    """conf/workflow.yaml (and --config) against its schema: one line naming the key."""
    schema = yaml.safe_load((Path(workflow.basedir) / "workflow/schemas/workflow.schema.yaml")
                            .read_text())
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(cfg))
    if error is not None:
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        sys.stderr.write(f"error: conf/workflow.yaml: {key}: {error.message}\n")
        sys.exit(1)


check_workflow_config(config)
SCALES = list(config["scales"])
SCALE = str(config.get("scale", "paper"))
if SCALE not in SCALES:
    raise ValueError(f"scale={SCALE!r} is invalid; allowed: {', '.join(SCALES)}")
CACHE_DIR = config["cache_dir"]
CONF_DIR = str(Path(workflow.basedir) / "conf")  # Hydra configs of this checkout


wildcard_constraints:
    scale="|".join(SCALES),
    dim="[23]",
    dataset="[a-z_]+",
    mixing="[a-z_]+",


def sweep(scale, experiment):
    return config["scales"][scale][experiment]


def dim_overrides(dim):
    return list(config["dim_overrides"][int(dim)])


def _defaults(path):
    """The defaults list of one Hydra file as (group, option) pairs."""
    entries = (yaml.safe_load(Path(path).read_text()) or {}).get("defaults", [])
    pairs = []
    for entry in entries:
        if isinstance(entry, dict):
            (group, option), = entry.items()
            pairs.append((group.lstrip("/").split("@")[0], str(option)))
        elif entry != "_self_":  # `identifiability@theorem1`: a file of this group
            pairs.append((None, str(entry).split("@")[0]))
    return pairs


def hydra_files(overrides):
    """The Hydra files one run composes: conf/config.yaml and each chosen group file
    (defaults, the chosen experiment's own defaults, then `group=option` overrides)."""
    conf = Path(CONF_DIR)
    chosen = dict(_defaults(conf / "config.yaml"))
    for item in overrides:
        key, _, value = item.partition("=")
        if (conf / key).is_dir():
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
                if not any(o.startswith(f"{group}=") for o in overrides):
                    chosen[group] = option
    files += [conf / group / f"{option}.yaml" for group, option in sorted(chosen.items())]
    return sorted({f for f in files if f.is_file()})


def config_digest(overrides):
    """SHA-256 of the Hydra files a job's runs read: a job param, so editing one group
    file reruns exactly the jobs that compose it (`overrides`: a list or dict of lists)."""
    runs = overrides.values() if isinstance(overrides, dict) else overrides
    files = sorted({f for ov in runs for f in hydra_files(ov)})
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(CONF_DIR)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]
