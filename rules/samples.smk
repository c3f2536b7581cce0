# Sample squares inside the labelled polygons, numbered and sharded (a checkpoint: the shard
# list decides how many chip/segment/graph jobs exist).


checkpoint samples:
    input:
        google=INPUTS.region_files("google"),
        sentinel2=INPUTS.region_files("sentinel2"),
        labels=INPUTS.region_files("labels"),
    output:
        table="results/samples.parquet",
        overview="results/figures/samples_overview.png",
        summary="results/tables/samples_per_class.csv",
        checks="results/checks/samples.csv",
        class_loss="results/checks/class_loss/samples.csv",
    log:
        "logs/samples.log",
    benchmark:
        "benchmarks/samples.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        samples=config["samples"],
        google={k: config["google"][k] for k in ("chip_px", "max_upsampling")},
        regions=list(LABELLED.values()),
        seed=config["seed"],
    script:
        "../workflow_scripts/samples.py"
