"""``newsbeam plan``: translate the pipeline for Dataflow without launching it.

It takes the same flags as a real launch and goes down Beam's dry-run path
(``--dry_run=True``): the graph is built, overridden and translated exactly
as for a submission, and nothing is sent.  No credentials or network are
needed; Cloud Storage is not read (the emptiness of a gs:// --output is not
checked, a gs:// --input is not listed).  It writes, into ``--plan_dir``:

* ``job.json``: the Dataflow job description.  With Runner v2 it carries no
  steps; the graph travels as the portable pipeline proto instead.
* ``pipeline.json``: that proto (``pipeline.runner.proto_pipeline``) as JSON.
* ``steps.txt``: every step's full name, one per line, sorted.  Dataflow's
  ``--update`` matches steps by these names: diff this file between the
  running version and the new one before updating.

and prints the number of steps and whether the job streams.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import GoogleCloudOptions, StandardOptions
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.dataflow.internal import apiclient
from apache_beam.runners.internal import names as shared_names
from google.protobuf import json_format

from pipeline.graph import wire
from pipeline.options import is_dataflow
from pipeline.resolve import resolve
from pipeline.run import error_line, prepare_options

USAGE = "newsbeam plan [--plan_dir DIR] --runner DataflowRunner [the flags of a real launch]"


@dataclass(frozen=True)
class Plan:
    job: dict
    pipeline: beam_runner_api_pb2.Pipeline

    @property
    def streaming(self) -> bool:
        return self.job.get("type") == "JOB_TYPE_STREAMING"

    def _wrappers(self) -> set[str]:
        """The unnamed root Beam wraps the whole graph in (no spec, no
        inputs or outputs); its id is not a step name."""
        transforms = self.pipeline.components.transforms
        return {
            tid
            for tid in self.pipeline.root_transform_ids
            if not (transforms[tid].spec.urn or transforms[tid].inputs or transforms[tid].outputs)
        }

    @property
    def step_names(self) -> list[str]:
        """Every step's full name (composites and the steps inside them)."""
        wrappers = self._wrappers()
        return sorted(t.unique_name for tid, t in self.pipeline.components.transforms.items() if tid not in wrappers)

    @property
    def leaf_steps(self) -> int:
        """Steps that run code (composites only group them)."""
        return sum(1 for t in self.pipeline.components.transforms.values() if not t.subtransforms)

    @property
    def stages(self) -> list[str]:
        """The top-level steps, in the order the graph was built."""
        transforms = self.pipeline.components.transforms
        wrappers = self._wrappers()
        top: list[str] = []
        for tid in self.pipeline.root_transform_ids:
            inner = transforms[tid].subtransforms if tid in wrappers else [tid]
            top.extend(transforms[s].unique_name for s in inner)
        return top


def translate(argv: list[str]) -> Plan:
    """Build and translate the pipeline for Dataflow, offline."""
    argv = [*argv, "--dry_run=True"]
    if not any(a == "--runner" or a.startswith("--runner=") for a in argv):
        argv.insert(0, "--runner=DataflowRunner")  # before the checks, which depend on it
    options = prepare_options(argv)
    if not is_dataflow(options):
        runner = options.view_as(StandardOptions).runner
        raise ValueError(f"--runner {runner!r}: newsbeam plan translates for DataflowRunner only")
    resolved = resolve(options)  # before beam.Pipeline, whose own checks could go online
    p = beam.Pipeline(options=options)
    wire(p, resolved)
    result = p.run()
    job = result.job
    # A submission adds the environment (workers, options, experiments) after
    # staging files, which a dry run skips; built here from the same options
    # so the description shows what the workers would get.  Nothing is staged.
    cloud = options.view_as(GoogleCloudOptions)
    staging = cloud.staging_location or cloud.temp_location
    job.proto.environment = apiclient.Environment(
        packages=[],
        options=options,
        environment_version=apiclient._FNAPI_ENVIRONMENT_MAJOR_VERSION,
        proto_pipeline_staged_url=FileSystems.join(staging, shared_names.STAGED_PIPELINE_FILENAME),
        proto_pipeline=job.proto_pipeline,
    ).proto
    return Plan(job=json.loads(job.json()), pipeline=p.runner.proto_pipeline)


def write(plan: Plan, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "job.json": json.dumps(plan.job, indent=2, sort_keys=True),
        "pipeline.json": json_format.MessageToJson(plan.pipeline, sort_keys=True),
        "steps.txt": "\n".join(plan.step_names) + "\n",
    }
    written = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newsbeam plan", usage=USAGE, add_help=False)
    parser.add_argument("--plan_dir", default="plan", help="Folder for job.json, pipeline.json, steps.txt.")
    parser.add_argument("-h", "--help", action="store_true")
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.help:
        print(f"usage: {USAGE}\n\n{__doc__}")
        return 0
    logging.basicConfig(level=logging.ERROR)
    try:
        plan = translate(rest)
    except ValueError as exc:
        print(f"newsbeam plan: error: {error_line(exc)}", file=sys.stderr)
        return 2
    written = write(plan, Path(args.plan_dir))
    print(f"newsbeam plan: {plan.job.get('name')} is a {'streaming' if plan.streaming else 'batch'} job")
    print(f"  steps       {len(plan.step_names)} named ({plan.leaf_steps} that run code)")
    print(f"  stages      {', '.join(plan.stages)}")
    for path in written:
        print(f"  wrote       {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
