"""``python -m convex_coding --help``: every experiment and every config key.

Nothing here repeats a range or a description that lives elsewhere:

* a key's **description** is its comment in the YAML file under ``conf/`` that defines it
  (the comment after the value, else the comment block right above the key; a comment
  line indented under an inline comment continues it).  :data:`FALLBACK` describes the
  few keys whose files carry no comment; a test checks it never duplicates one;
* a key's **allowed range** is asked from the experiment's own validation: the key is set
  to a value no check accepts and the run is started with a cache that stops it at the
  first lookup, so the :class:`~.errors.ConfigError` the experiment raises
  (``key=… is invalid; allowed: …``) is the range shown.  Checks that apply only for some
  settings (a group option such as ``population=grid``, or an enumerated value such as
  ``experiment.alignment.job=sweep``) are found by probing those variants too.

Keys the experiment never checks are listed as such (``not checked``); keys of the
composed config that the experiment neither checks nor defines (e.g. ``dataset.*`` in an
ON/OFF run) are named in one line.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, ListConfig, OmegaConf

from . import registry
from .errors import ConfigError
from .runs import CONF_DIR, run_config

#: descriptions of keys whose YAML files carry no comment: conf file → key (relative to the
#: file's package) → one line.  Prefer a comment in the YAML file; a test checks that no
#: entry here repeats one there and that every entry names a key of its file.
FALLBACK: dict[str, dict[str, str]] = {
    "experiment/identifiability.yaml": {
        "alignment.lam": "λ = λ_W = λ_R of every alignment instance",
        "alignment.c_range": "the swept correlations c of the mixing: [low, high]",
    },
    "mixing/general.yaml": {"out_dim": "dimension of the mixed signal x = A s (rows of A)"},
    "solver/clarabel.yaml": {"options": "solver options, passed to cvxpy as given"},
    "solver/scs.yaml": {"options": "solver options, passed to cvxpy as given"},
    "solver/mosek.yaml": {"options": "solver options, passed to cvxpy as given"},
}

_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w]*):(?P<rest>.*)$")
_NESTED_DEFAULT = re.compile(r"^\s*-\s*(?P<name>[A-Za-z_][\w]*)@(?P<pkg>[\w.]+)\s*$")
_MARK = "<help probe: no check accepts this>"
_PROBE = {_MARK: 0}
_ABSENT = object()
_TOKEN = re.compile(r"^[A-Za-z_][\w]*$")


class _Validated(Exception):
    """Raised by :class:`_StopAtCache`: the run got past its validation."""


class _StopAtCache:
    """A cache whose first lookup stops the run (validation happens before it)."""

    def get(self, key: str, verify: Any = None) -> dict | None:
        raise _Validated(key)

    def put(self, key: str, payload: dict) -> Path:
        raise _Validated(key)


@dataclass
class KeyHelp:
    """One key of a composed config, as ``--help`` shows it."""

    key: str
    default: Any
    description: str
    #: variant label ("" for the chosen settings) → the range the experiment's checks state
    allowed: dict[str, str] = field(default_factory=dict)
    #: ``group=option`` if the key exists only under that option (not the chosen one)
    only_with: str = ""

    def allowed_text(self) -> str:
        """The range(s), the chosen settings' first; ``not checked`` if no check applies."""
        if not self.allowed:
            return "not checked with these settings"
        def same(text: str) -> str:  # "null for stimulus.kind=gaussian" ≡ "…=uniform"
            return re.sub(r"([\w.]+)=[\w.]+", r"\1=*", text)

        base = same(self.allowed.get("", "\0"))
        by_text: dict[str, list[str]] = {}
        for label, text in self.allowed.items():
            if label == "" or same(text) != base:
                by_text.setdefault(text, []).append(label)
        parts = []
        for text, labels in by_text.items():
            if "" in labels:
                parts.insert(0, text)
                continue
            values: dict[str, list[str]] = {}
            for label in labels:
                key, _, value = label.partition("=")
                values.setdefault(key, []).append(value)
            merged = [f"{k}={'|'.join(v)}" for k, v in values.items()]
            parts.append(f"with {' or '.join(merged)}: {text}")
        return "; ".join(parts)


# --------------------------------------------------------------------------- descriptions


def _file_package(path: Path, conf_dir: Path) -> str:
    """The Hydra package of a config file: its group, or ``""`` for ``_global_``."""
    rel = path.relative_to(conf_dir)
    head = path.read_text().lstrip().splitlines()[:1]
    if len(rel.parts) == 1 or (head and "@package _global_" in head[0]):
        return ""
    return ".".join(rel.parts[:-1])


def _sentence(lines: list[str]) -> str:
    """The first sentence of a comment block (one line of help)."""
    text = " ".join(lines)
    return re.split(r"(?<=[.?!])\s", text, maxsplit=1)[0]


def parse_comments(path: Path, package: str = "") -> dict[str, tuple[str, bool]]:
    """Every key a YAML file defines (dotted, under ``package``) → ``(comment, inline)``:
    the comment after the value (``inline``), else the first sentence of the comment block
    right above the key, else ``""``.  A file's header block describes the option itself:
    it goes to ``name``/``kind`` if that key has no comment.  ``defaults`` and ``hydra``
    are skipped; list items and flow mappings are part of their key's value.
    """
    out: dict[str, tuple[str, bool]] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    header: list[str] = []
    inline: tuple[str, int] | None = None  # (key, indent) of the last inline comment
    for raw in path.read_text().splitlines():
        text = raw.strip()
        indent = len(raw) - len(raw.lstrip())
        if not text:
            pending, inline = [], None
            continue
        if text.startswith("#"):
            body = text.lstrip("#").strip()
            if inline is not None and indent > inline[1]:
                out[inline[0]] = (f"{out[inline[0]][0]} {body}", True)
            elif not body.startswith("@package"):
                pending.append(body)
                inline = None
            continue
        header = header or pending or ["-"]
        match = _KEY_LINE.match(raw)
        if match is None:  # a list item or a continued value
            pending, inline = [], None
            continue
        level = len(match["indent"])
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, match["key"]))
        dotted = ".".join(k for _, k in stack)
        comment = match["rest"].partition(" #")[2].strip()
        if stack[0][1] not in ("defaults", "hydra"):
            full = f"{package}.{dotted}" if package else dotted
            if not comment and not pending and match["key"] in ("name", "kind") \
                    and header != ["-"]:
                pending = header
            out[full] = (comment, True) if comment else (_sentence(pending), False)
            inline = (full, level) if comment else None
        pending = []
    return out


def _nested_defaults(path: Path, conf_dir: Path, package: str) -> Iterable[tuple[Path, str]]:
    """Configs of the same group a file pulls in as ``name@pkg`` (e.g. ``theorem1``)."""
    for line in path.read_text().splitlines():
        match = _NESTED_DEFAULT.match(line)
        if match:
            target = path.parent / f"{match['name']}.yaml"
            if target.is_file():
                yield target, f"{package}.{match['pkg']}" if package else match["pkg"]


def _parsed(path: Path, conf_dir: Path) -> dict[str, tuple[str, bool]]:
    """:func:`parse_comments` of a file and its ``name@pkg`` defaults, with :data:`FALLBACK`
    (counted as inline) for keys the files leave undescribed."""
    package = _file_package(path, conf_dir)
    out: dict[str, tuple[str, bool]] = {}
    for source, pkg in [(path, package), *_nested_defaults(path, conf_dir, package)]:
        parsed = parse_comments(source, pkg)
        for rel, text in FALLBACK.get(source.relative_to(conf_dir).as_posix(), {}).items():
            key = f"{pkg}.{rel}" if pkg else rel
            if key in parsed and not parsed[key][0]:
                parsed[key] = (text, True)
        out |= {k: v for k, v in parsed.items() if v[0] or k not in out}
    return out


def descriptions(conf_dir: Path = CONF_DIR, chosen: Sequence[Path] = ()) -> dict[str, str]:
    """Dotted key → description for a config composed of ``chosen`` files (the root
    config and each group's chosen option).  A key the chosen file leaves undescribed
    borrows the inline comment of the same key in another option of its group (e.g.
    ``mixing=orthogonal`` from ``mixing/general.yaml``), never a header."""
    table: dict[str, str] = {}
    for path in [conf_dir / "config.yaml", *chosen]:
        for key, (text, _) in _parsed(path, conf_dir).items():
            if text and not table.get(key):
                table[key] = text
    for path in chosen:
        if path.parent.name == "experiment":  # another experiment's key means something else
            continue
        for sibling in sorted(path.parent.glob("*.yaml")):
            for key, (text, inline) in _parsed(sibling, conf_dir).items():
                if inline and text and not table.get(key):
                    table[key] = text
    return table


def defined_keys(path: Path, conf_dir: Path = CONF_DIR) -> set[str]:
    """The dotted keys one config file (and its ``name@pkg`` defaults) defines."""
    package = _file_package(path, conf_dir)
    keys: set[str] = set()
    for source, pkg in [(path, package), *_nested_defaults(path, conf_dir, package)]:
        keys |= set(parse_comments(source, pkg))
    return keys


# --------------------------------------------------------------------------- ranges


def leaves(cfg: DictConfig, described: dict[str, str], prefix: str = "") -> dict[str, Any]:
    """Dotted key → value of every entry ``--help`` lists: the leaves, except that a
    mapping none of whose entries is described (solver options) is one entry."""
    out: dict[str, Any] = {}
    for key, node in cfg.items_ex(resolve=False) if isinstance(cfg, DictConfig) else []:
        dotted = f"{prefix}{key}"
        sub = cfg._get_node(key)
        if isinstance(sub, DictConfig) and len(sub) and any(
                k.startswith(f"{dotted}.") and v for k, v in described.items()):
            out |= leaves(sub, described, f"{dotted}.")
        else:
            value = OmegaConf.to_container(sub) if isinstance(sub, DictConfig | ListConfig) \
                else node
            out[dotted] = value
    return out


def probe(cfg: DictConfig, key: str) -> str | None:
    """The range the run's own checks state for ``key`` under ``cfg``, or ``None`` if no
    check rejects a value no check accepts (the key is not checked with these settings).

    The error may name the key under another path (a run that validates a view of its
    config, e.g. ``experiment.theorem1`` checked as ``experiment``): it is recognised by
    the probe value.  ``cfg`` is restored afterwards.
    """
    node = OmegaConf.select(cfg, key)
    saved = OmegaConf.to_container(node) if isinstance(node, DictConfig | ListConfig) else node
    OmegaConf.update(cfg, key, copy.deepcopy(_PROBE), merge=False)
    try:
        run_config(cfg, _StopAtCache())  # type: ignore[arg-type]
    except ConfigError as exc:
        found = re.match(r"^\S+=(.*) is invalid; allowed: (.*)$", str(exc), re.S)
        return found[2].strip() if found and _MARK in found[1] else None
    except Exception:  # past validation (_Validated) or failing on the probe value later
        return None
    finally:
        OmegaConf.update(cfg, key, saved, merge=False)
    return None


def _tokens(allowed: str) -> list[Any]:
    """Enumerated values named in a range (``null, sweep, showcase or phase``)."""
    words = [w.strip() for w in re.split(r",\s*|\s+or\s+|\s*\|\s*", allowed)]
    if len(words) < 2 or not all(_TOKEN.match(w) for w in words):
        return []
    return [None if w == "null" else w == "true" if w in ("true", "false") else w for w in words]


def _compose(overrides: Sequence[str], conf_dir: Path) -> tuple[DictConfig, dict[str, str]]:
    """The run config of ``overrides`` and its group choices (``group → option``)."""
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        full = compose(config_name="config", overrides=list(overrides),
                       return_hydra_config=True)
    choices = {g: str(o) for g, o in full.hydra.runtime.choices.items()
               if "/" not in g and "@" not in g and o is not None}
    cfg = OmegaConf.masked_copy(full, [k for k in full if k != "hydra"])
    OmegaConf.set_struct(cfg, True)
    return cfg, choices


@dataclass
class ExperimentHelp:
    """The keys of one experiment's composed config."""

    name: str
    title: str
    paper: bool
    keys: list[KeyHelp]
    unchecked: list[str]  # in the config, neither checked nor defined by the experiment
    error: str | None = None


def experiment_help(name: str, overrides: Sequence[str] = (),
                    conf_dir: Path = CONF_DIR) -> ExperimentHelp:
    """Descriptions and ranges of every key of ``experiment=name`` (plus ``overrides``)."""
    exp = registry.get(name)
    own = conf_dir / "experiment" / f"{name}.yaml"
    if not own.is_file():
        return ExperimentHelp(name, exp.title, exp.paper, [], [],
                              f"no conf/experiment/{name}.yaml: select it with "
                              f"experiment.name={name}")
    base = [f"experiment={name}", *(o for o in overrides if not o.startswith("experiment="))]
    try:
        cfg, choices = _compose(base, conf_dir)
    except Exception as exc:  # a broken config file: say so, keep listing the others
        return ExperimentHelp(name, exp.title, exp.paper, [], [], " ".join(str(exc).split()))
    chosen = [conf_dir / g / f"{o}.yaml" for g, o in choices.items()]
    described = descriptions(conf_dir, [p for p in chosen if p.is_file()])
    values = leaves(cfg, described)
    found: dict[str, dict[str, str]] = {k: {} for k in values}
    extra: dict[str, str] = {}  # key of another group option → that option (label)
    for key in list(values):
        text = probe(cfg, key)
        if text is not None:
            found[key][""] = text
    unchecked_here = [k for k in values if not found[k]]
    for label, prefix, variant, path in _variants(cfg, choices, found, conf_dir):
        if path is not None:  # another group option: its keys, the new ones listed too
            described |= {k: v for k, v in descriptions(conf_dir, [path]).items()
                          if not described.get(k)}
            keys_here = [k for k in leaves(variant, described) if k.startswith(prefix)]
            for key in keys_here:
                if key not in values:
                    values[key] = OmegaConf.select(variant, key)
                    found[key], extra[key] = {}, label
        else:  # another value of an enumerated key: its siblings unchecked or naming it
            varied = label.partition("=")[0]
            keys_here = [k for k in values if k.rpartition(".")[0] == varied.rpartition(".")[0]
                         and (k in unchecked_here or varied in found[k].get("", ""))]
        for key in keys_here:
            if OmegaConf.select(variant, key, default=_ABSENT) is not _ABSENT:
                text = probe(variant, key)
                if text is not None:
                    found[key].setdefault(label, text)
    mine = defined_keys(own, conf_dir) | defined_keys(conf_dir / "config.yaml", conf_dir)
    keys, unchecked = [], []
    for key, value in values.items():
        if found[key] or key.startswith(("experiment.", "solver.")) or key in mine:
            keys.append(KeyHelp(key, value, described.get(key, ""), found[key],
                                extra.get(key, "")))
        else:
            unchecked.append(key)
    return ExperimentHelp(name, exp.title, exp.paper, keys, unchecked)


def _variants(cfg: DictConfig, choices: dict[str, str], found: dict[str, dict[str, str]],
              conf_dir: Path) -> Iterable[tuple[str, str, DictConfig, Path | None]]:
    """Configs one step from ``cfg`` that may turn on checks the chosen settings skip:
    ``(label, group prefix or "", config, the swapped-in option file or None)``.  Another
    option of a group the run checks (its file swapped in: the group's keys are probed
    again, new ones listed), or another value of a key whose range is an enumeration (its
    siblings that are unchecked or whose range names it are probed, e.g. the
    ``alignment.*`` keys under ``alignment.job=sweep``); ``experiment.name`` (another
    experiment) and a group's ``kind`` (the group options cover it) are not varied."""
    for group, option in choices.items():
        if group in ("experiment", "solver") or not any(
                k.startswith(f"{group}.") and v for k, v in found.items()):
            continue
        for path in sorted((conf_dir / group).glob("*.yaml")):
            text = path.read_text()
            if path.stem == option or "defaults:" in text or "@package" in text:
                continue
            variant = copy.deepcopy(cfg)
            OmegaConf.update(variant, group, OmegaConf.load(path), merge=False)
            yield f"{group}={path.stem}", f"{group}.", variant, path
    for key, ranges in list(found.items()):
        if key == "experiment.name" or (key.endswith(".kind") and key.rpartition(".")[0]
                                        in choices):
            continue
        current = OmegaConf.select(cfg, key)
        for token in _tokens(ranges.get("", "")):
            if token is not current and not (token == current and type(token) is type(current)):
                variant = copy.deepcopy(cfg)
                OmegaConf.update(variant, key, token, merge=False)
                label = f"{key}={'null' if token is None else str(token).lower()}"
                yield label, "", variant, None


# --------------------------------------------------------------------------- text


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).replace(" ", "")


def format_experiment(info: ExperimentHelp) -> list[str]:
    """The lines of one experiment's section."""
    kind = "paper" if info.paper else "extension"
    lines = [f"experiment={info.name}  ({kind}: {info.title})"]
    if info.error:
        return [*lines, f"    {info.error}", ""]
    width = min(34, max(len(f"{k.key}={_value(k.default)}") for k in info.keys) + 2)
    for item in info.keys:
        head = f"  {item.key}={_value(item.default)}"
        if item.only_with:
            head = f"  [{item.only_with}] {item.key}={_value(item.default)}"
        pad = " " * max(1, width + 2 - len(head))
        lines.append(f"{head}{pad}{item.description or '(no description)'}")
        lines.append(f"{' ' * (width + 2)}allowed: {item.allowed_text()}")
    if info.unchecked:
        lines.append("  also in the config, neither checked nor defined by this experiment: "
                     + ", ".join(info.unchecked))
    return [*lines, ""]


def render_help(overrides: Sequence[str] = (), conf_dir: Path = CONF_DIR) -> str:
    """The whole ``--help`` text: experiments, groups, then every experiment's keys (only
    the chosen one's if ``overrides`` name ``experiment=…``)."""
    chosen = [o.partition("=")[2] for o in overrides if o.startswith("experiment=")]
    lines = [
        "usage: python -m convex_coding [experiment=NAME] [GROUP=OPTION ...] [KEY=VALUE ...]",
        "                               [--multirun] [--help] [--hydra-help]",
        "",
        "One Hydra-configured run: compose conf/config.yaml with the chosen group options,",
        "override any key, solve (or reuse the cache) and write the result JSON (out=..., by",
        "default <hydra run dir>/result.json).  `experiment=NAME --help` shows one experiment.",
        "",
        "experiments:",
    ]
    infos: dict[str, Any] = {}
    for name in registry.names():
        exp = registry.get(name)
        infos[name] = exp
        kind = "paper" if exp.paper else "extension"
        lines.append(f"  {name:<20} {kind:<10} {exp.title}")
    lines += ["", "config groups (GROUP=OPTION):"]
    for group in sorted(p for p in conf_dir.iterdir() if p.is_dir()):
        options = " | ".join(sorted(p.stem for p in group.glob("*.yaml")))
        lines.append(f"  {group.name:<12} {options}")
    lines += ["", "keys: KEY=default, its description, and the values the experiment's own checks",
              "allow ('with X=Y': under that setting; 'not checked with these settings': no",
              "check rejected a bad value with the chosen settings or one of them changed —",
              "pass the settings, e.g. `experiment.instance=on_off --help`, to see more)", ""]
    for name in chosen or registry.names():
        if name not in infos:
            lines += [f"experiment={name}: unknown; allowed: {', '.join(registry.names())}", ""]
            continue
        lines += format_experiment(experiment_help(name, overrides, conf_dir))
    return "\n".join(lines).rstrip() + "\n"
