# Stream models: training on the train split (early stopping on val) and prediction of val + test.


rule train:
    wildcard_constraints:
        model=TRAINED_MODELS_RE,
    input:
        data=model_inputs,
        split="results/splits/{strategy}.csv",
        samples="results/samples.parquet",
        valid="results/valid_samples.csv",
    output:
        model="results/models/{strategy}/{model}.pt",
        history="results/models/{strategy}/{model}_history.csv",
        curve=report(
            "results/figures/training/{strategy}_{model}.png",
            caption="../report/training.rst",
            category="5. Training",
        ),
    params:
        train=lambda wc: config["train"]["gcn" if wc.model == "gcn" else "s2"],
        device=config["train"]["device"],
        seed=config["seed"],
    log:
        "logs/train/{strategy}_{model}.log",
    benchmark:
        "benchmarks/train/{strategy}_{model}.tsv"
    threads: 2
    resources:
        mem_mb=6000,
        gpu=lambda wc: 1 if config["train"]["device"] != "cpu" else 0,
    conda:
        "../envs/df4lcz.yaml"
    script:
        "../workflow_scripts/train.py"


rule predict:
    wildcard_constraints:
        model=TRAINED_MODELS_RE,
    input:
        model="results/models/{strategy}/{model}.pt",
        data=model_inputs,
        split="results/splits/{strategy}.csv",
        samples="results/samples.parquet",
        valid="results/valid_samples.csv",
    output:
        predictions="results/predictions/{strategy}/{model}.csv",
    params:
        device=config["train"]["device"],
    log:
        "logs/predict/{strategy}_{model}.log",
    benchmark:
        "benchmarks/predict/{strategy}_{model}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        gpu=lambda wc: 1 if config["train"]["device"] != "cpu" else 0,
    conda:
        "../envs/df4lcz.yaml"
    script:
        "../workflow_scripts/predict.py"
