# Merge the per-experiment summary blocks into results/<scale>/summary.json.


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
    conda:
        "../../environment.yml"
    script:
        "../scripts/merge_summary.py"
