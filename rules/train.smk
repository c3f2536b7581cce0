# Stream models: training on the train split (early stopping on val) and prediction of val + test.


rule train:
    input:
        data=INPUTS.model_inputs,
        split="results/splits/{strategy}.csv",
        samples="results/samples.parquet",
        valid="results/valid_samples.csv",
        checks=INPUTS.graph_checks_input,
    output:
        model="results/models/{strategy}/{model}.pt",
        history="results/models/{strategy}/{model}_history.csv",
        curve=report(
            "results/figures/training/{strategy}_{model}.png",
            caption="../report/training.rst",
            category="5. Training",
        ),
    log:
        "logs/train/{strategy}_{model}.log",
    benchmark:
        "benchmarks/train/{strategy}_{model}.tsv"
    wildcard_constraints:
        model=TRAINED_MODELS_RE,
    conda:
        "../envs/df4lcz.yaml"
    threads: 2
    resources:
        mem_mb=6000,
        gpu=lambda wc: 1 if config["train"]["device"] != "cpu" else 0,
    params:
        train=lambda wc: config["train"]["gcn" if wc.model == "gcn" else "s2"],
        device=config["train"]["device"],
        amp=config["train"]["amp"],
        seed=config["seed"],
        window=RUN.training_window,
    script:
        "../workflow_scripts/train.py"


rule predict:
    input:
        model="results/models/{strategy}/{model}.pt",
        data=INPUTS.model_inputs,
        split="results/splits/{strategy}.csv",
        samples="results/samples.parquet",
        valid="results/valid_samples.csv",
    output:
        predictions="results/predictions/{strategy}/{model}.csv",
    log:
        "logs/predict/{strategy}_{model}.log",
    benchmark:
        "benchmarks/predict/{strategy}_{model}.tsv"
    wildcard_constraints:
        model=TRAINED_MODELS_RE,
    conda:
        "../envs/df4lcz.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        gpu=lambda wc: 1 if config["train"]["device"] != "cpu" else 0,
    params:
        device=config["train"]["device"],
    script:
        "../workflow_scripts/predict.py"
