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


# With the region strategy: the classes of the test regions that no training sample has.
rule region_split_checks:
    input:
        samples="results/samples.parquet",
        split="results/splits/region.csv",
    output:
        checks="results/checks/splits/region.csv",
    log:
        "logs/region_split_checks.log",
    benchmark:
        "benchmarks/region_split_checks.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        test_regions=split_test_regions(config),
    script:
        "../workflow_scripts/region_split_checks.py"
