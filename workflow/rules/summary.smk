# Merge the per-experiment summary blocks into results/<scale>/summary.json.


def summary_blocks(scale):
    return [
        f"results/{scale}/summaries/identifiability.json",
        f"results/{scale}/summaries/on_off_density.json",
        f"results/{scale}/summaries/tuning_uniqueness.json",
        f"results/{scale}/summaries/tuning_criteria.json",
    ]


rule summary:
    input:
        blocks=lambda wc: summary_blocks(wc.scale),
    output:
        "results/{scale}/summary.json",
    log:
        "results/{scale}/logs/summary.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/merge_summary.py"
