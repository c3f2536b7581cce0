# Train/val/test splits per strategy (random = sample pool, polygon = polygon pool, region = test regions).


rule splits:
    input:
        samples="results/samples.parquet",
    output:
        split="results/splits/{strategy}.csv",
        summary="results/splits/{strategy}_summary.csv",
    log:
        "logs/splits/{strategy}.log",
    benchmark:
        "benchmarks/splits/{strategy}.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        fractions={k: config["splits"][k] for k in ("train", "val", "test")},
        seed=config["seed"],
        test_regions=split_test_regions(config),
    script:
        "../workflow_scripts/splits.py"
