# The samples present in every stream of the dataset (exclusions of one stream apply to all),
# and the per-class account of the samples lost (stops when a class lost too many).


rule valid_samples:
    input:
        **{stream: INPUTS.stream_files(stream) for stream in STREAMS},
        samples="results/samples.parquet",
        class_loss=INPUTS.class_loss_input,
    output:
        table="results/valid_samples.csv",
        checks="results/checks/valid_samples.csv",
        class_loss="results/checks/class_loss/valid_samples.csv",
    log:
        "logs/valid_samples.log",
    benchmark:
        "benchmarks/valid_samples.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        streams=STREAMS,
        samples={
            k: config["samples"][k]
            for k in ("warn_class_loss_fraction", "max_class_loss_fraction")
        },
    script:
        "../workflow_scripts/valid_samples.py"


# One-node graphs over every graphs shard (a limit checked before the GCN trains; the Sentinel-2
# models do not wait for it).
rule graph_checks:
    input:
        graphs=INPUTS.graph_inputs,
    output:
        checks="results/checks/graphs.csv",
    log:
        "logs/graph_checks.log",
    benchmark:
        "benchmarks/graph_checks.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        max_single_node_fraction=config["graphs"]["max_single_node_fraction"],
    script:
        "../workflow_scripts/graph_checks.py"
