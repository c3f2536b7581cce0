# Google Earth stream: RGB chips → instance masks (SAM or classical) → graphs, per shard.

from df4lcz.run import segment_params
from df4lcz.segmentation.checkpoints import SAM_CHECKPOINTS

#: {file name: model type} of the official SAM checkpoints rule sam_checkpoint downloads.
SAM_FILES = {info.filename: model_type for model_type, info in SAM_CHECKPOINTS.items()}


rule chip_google:
    input:
        samples="results/samples.parquet",
        raster=lambda wc: INPUTS.google_inputs(INPUTS.shard_region(wc)["name"]),
    output:
        chips="results/chips/google/{shard}.h5",
    log:
        "logs/chip_google/{shard}.log",
    benchmark:
        "benchmarks/chip_google/{shard}.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        google=config["google"],
        google_input=lambda wc: INPUTS.google_spec(
            INPUTS.shard_region(wc)["name"]
        ).as_params(),
    script:
        "../workflow_scripts/chip_google.py"


rule sam_checkpoint:
    output:
        checkpoint="resources/sam/{filename}",
    log:
        "logs/sam_checkpoint/{filename}.log",
    benchmark:
        "benchmarks/sam_checkpoint/{filename}.tsv"
    wildcard_constraints:
        filename="|".join(re.escape(name) for name in SAM_FILES),
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        model_type=lambda wc: SAM_FILES[wc.filename],
    script:
        "../workflow_scripts/sam_checkpoint.py"


rule segment:
    input:
        chips="results/chips/google/{shard}.h5",
        samples="results/samples.parquet",
        checkpoint=INPUTS.sam_checkpoint_input,
    output:
        masks="results/masks/{shard}.h5",
        overlay="results/figures/masks/{shard}.png",
    log:
        "logs/segment/{shard}.log",
    benchmark:
        "benchmarks/segment/{shard}.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc: 12000 if config["segment"]["backend"] == "sam" else 2000,
        gpu=lambda wc: 1 if config["segment"]["backend"] == "sam" else 0,
    params:
        segment=segment_params(config),
    script:
        "../workflow_scripts/segment.py"


rule graphs:
    input:
        masks="results/masks/{shard}.h5",
        chips="results/chips/google/{shard}.h5",
        samples="results/samples.parquet",
    output:
        graphs="results/graphs/{shard}.h5",
        checks="results/checks/graphs/{shard}.csv",
    log:
        "logs/graphs/{shard}.log",
    benchmark:
        "benchmarks/graphs/{shard}.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1500,
    params:
        # the limit is the graph_checks rule's: changing it reruns no graphs job
        graphs={
            k: v
            for k, v in config["graphs"].items()
            if k != "max_single_node_fraction"
        },
    script:
        "../workflow_scripts/graphs.py"
