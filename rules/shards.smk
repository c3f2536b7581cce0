# Input functions over the shards of the sample table, used by several rule files (known once the
# samples checkpoint of the dataset variant has run; df4lcz.io.samples.read_shard_index).

from functools import lru_cache

from df4lcz.io.samples import read_samples, read_shard_index


@lru_cache(maxsize=4)
def _shard_index(path, mtime):
    return read_shard_index(path)


def shard_index():
    """The checkpoint's shards and their regions (re-evaluates the DAG once the table exists)."""
    path = getattr(checkpoints, VARIANT.samples_rule).get().output.table
    return _shard_index(path, os.path.getmtime(path))


def all_shards():
    return list(shard_index().shards)


def shard_files(kind):
    """Input function: every shard's file under results/<kind>/ (known once samples exist)."""

    def files(wildcards):
        return expand(f"results/{kind}/{{shard}}.h5", shard=all_shards())

    return files


def shard_region(wildcards):
    """Region dict of the shard in ``wildcards.shard``."""
    name = shard_index().regions.get(int(wildcards.shard))
    if name is None:
        raise WorkflowError(
            f"shard {wildcards.shard} is not in results/samples.parquet"
        )
    return REGIONS[name]


def graph_inputs(wildcards):
    """Graph files of the run (none without a graph stream): rule graph_checks and the summary."""
    return shard_files(STREAM_DIRS["graphs"])(wildcards) if HAS_GRAPHS else []


def shard_column_files(column):
    """Input function: the raw files named in ``column`` of the shard's rows of the sample table.

    Imported datasets record each sample's source files in the sample table (docs/contracts.md §1);
    declaring them as inputs lets Snakemake see that data flow (a changed patch file reruns its shard).
    """

    def files(wildcards):
        path = getattr(checkpoints, VARIANT.samples_rule).get().output.table
        rows = read_samples(path, shard=int(wildcards.shard), columns=[column])
        return sorted(set(rows[column].astype(str)))

    return files
