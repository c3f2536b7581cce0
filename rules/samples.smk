# Sample squares inside the labelled polygons, numbered and sharded (a checkpoint: the shard
# list decides how many chip/segment/graph jobs exist).


def region_files(kind):
    """The labelled regions' input paths of one kind (sentinel2 or labels, lists flattened; google: google_inputs)."""
    if kind == "google":
        return [f for name in LABELLED for f in google_inputs(name)]
    out = []
    for region in LABELLED.values():
        value = region[kind]
        out.extend(value if isinstance(value, list) else [value])
    return out


checkpoint samples:
    input:
        google=region_files("google"),
        sentinel2=region_files("sentinel2"),
        labels=region_files("labels"),
    output:
        table="results/samples.parquet",
        overview="results/figures/samples_overview.png",
        summary="results/tables/samples_per_class.csv",
        checks="results/checks/samples.csv",
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
