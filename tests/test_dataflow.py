"""Deployment to Dataflow, checked without a cloud account.

* ``newsbeam plan`` translates the streaming Pub/Sub -> GCS job in a fresh
  process with no credentials and the network cut off (a ``sitecustomize``
  refuses every connection that is not to this machine);
* the job it describes streams, has every step under its stable name,
  depends on no local path, and its pickled DoFns load and set up in
  another fresh process;
* the template's metadata matches the pipeline's flags, and the launcher's
  entry point accepts what Dataflow passes;
* the image, setup.py and requirements.lock agree, the lock resolves on its
  own in a fresh venv, and this test venv runs exactly the locked versions;
* the launch script asks for what it needs and calls gcloud with flags
  that exist.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import pytest
from apache_beam.coders import StrUtf8Coder
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.pipeline_context import PipelineContext
from google.protobuf import json_format

from pipeline.options import REQUIRED_FLAGS, SOURCE_FLAGS, NewsbeamOptions, flag_parser, validate, validate_dataflow
from pipeline.run import waits
from pipeline.template import METADATA_PATH, NOT_IN_TEMPLATE, render_metadata, template_args
from tests.conftest import DATA, ROOT

DEPLOY = ROOT / "deploy" / "dataflow"
LOCK = ROOT / "requirements.lock"
BUCKET = "gs://newsbeam-demo-bucket"
CLOUD = [
    "--runner", "DataflowRunner", "--project", "newsbeam-demo", "--region", "europe-west1",
    "--temp_location", f"{BUCKET}/tmp",
]  # fmt: skip
STREAMING_JOB = [
    *CLOUD, "--streaming", "--input_subscription", "projects/newsbeam-demo/subscriptions/articles",
    "--output", f"{BUCKET}/newsbeam", "--job_name", "newsbeam-plan-test",
]  # fmt: skip
STAGES = [
    "Read", "Extract", "DetectLanguage", "TagTopics", "AttributeAgencies", "Dedup",
    "WriteArticles", "WriteDuplicates", "CollectRejects", "RejectRows", "WriteRejects",
]  # fmt: skip

NO_NETWORK = """
import socket

_LOCAL = {None, "localhost", "127.0.0.1", "::1", "0.0.0.0"}
_connect = socket.socket.connect
_getaddrinfo = socket.getaddrinfo


def _guarded_connect(sock, address):
    if isinstance(address, tuple) and address[0] not in _LOCAL:
        raise OSError(f"network disabled by the test: connect to {address!r}")
    return _connect(sock, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if host not in _LOCAL:
        raise socket.gaierror(f"network disabled by the test: lookup of {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect
socket.getaddrinfo = _guarded_getaddrinfo
"""


def offline_env(folder: Path) -> dict[str, str]:
    """An environment with no cloud credentials and no network but loopback."""
    site = folder / "offline-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(NO_NETWORK, encoding="utf-8")
    gcloud_config = folder / "gcloud-config"
    gcloud_config.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_", "PUBSUB_"))}
    env.update(
        PYTHONPATH=str(site),
        CLOUDSDK_CONFIG=str(gcloud_config),  # no gcloud account, no application-default credentials
        GCE_METADATA_HOST="metadata.invalid",
        NO_GCE_CHECK="True",
    )
    return env


def test_the_offline_environment_really_cuts_the_network(tmp_path):
    probe = "import urllib.request; urllib.request.urlopen('https://pypi.org', timeout=5)"
    done = subprocess.run([sys.executable, "-c", probe], env=offline_env(tmp_path), capture_output=True, text=True)
    assert done.returncode != 0 and "network disabled by the test" in done.stderr


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    """``newsbeam plan`` of the streaming Pub/Sub -> GCS job, run as a user runs it, offline."""
    work = tmp_path_factory.mktemp("plan")
    out = work / "plan"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "plan", "--plan_dir", str(out), *STREAMING_JOB,
         "--setup_file", str(ROOT / "setup.py")],
        cwd=work, env=offline_env(work), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    proto = json_format.Parse((out / "pipeline.json").read_text(), beam_runner_api_pb2.Pipeline())
    job = json.loads((out / "job.json").read_text())
    return {"work": work, "out": out, "stdout": done.stdout, "job": job, "proto": proto}


def test_plan_describes_a_streaming_job_and_says_so(plan):
    assert plan["job"]["type"] == "JOB_TYPE_STREAMING"
    assert plan["job"]["name"] == "newsbeam-plan-test"
    options = plan["job"]["environment"]["sdkPipelineOptions"]["options"]
    assert options["streaming"] is True
    assert options["input_subscription"] == "projects/newsbeam-demo/subscriptions/articles"
    named = len((plan["out"] / "steps.txt").read_text().split())
    assert "newsbeam-plan-test is a streaming job" in plan["stdout"]
    assert f"steps       {named} named" in plan["stdout"]


def test_every_step_is_there_under_its_stable_name(plan):
    """Dataflow's --update matches steps by name: a rename needs a
    --transform_name_mapping, so the names are pinned here."""
    steps = (plan["out"] / "steps.txt").read_text().split("\n")[:-1]
    expected = (DATA / "dataflow_steps.txt").read_text().split("\n")[:-1]
    assert steps == expected, (
        "step names changed; a running job cannot be --update'd across a rename without "
        "--transform_name_mapping. If meant, copy plan/steps.txt to tests/data/dataflow_steps.txt"
    )
    transforms = plan["proto"].components.transforms
    assert len({t.unique_name for t in transforms.values()}) == len(transforms)
    assert f"stages      {', '.join(STAGES)}" in plan["stdout"]


def test_stateful_steps_have_deterministic_key_coders(plan):
    """State is kept per encoded key: a key coder that is not deterministic
    would split one key's state, and changing it later breaks --update, so
    every stateful step's keys are plain UTF-8 strings."""
    components = plan["proto"].components
    context = PipelineContext(components)
    stateful = []
    for t in components.transforms.values():
        if t.spec.urn != common_urns.primitives.PAR_DO.urn:
            continue
        payload = beam_runner_api_pb2.ParDoPayload.FromString(t.spec.payload)
        if payload.state_specs or payload.timer_family_specs:
            (main_input,) = [pc for tag, pc in t.inputs.items() if tag not in payload.side_inputs]
            coder = context.coders.get_by_id(components.pcollections[main_input].coder_id)
            assert coder.is_kv_coder() and isinstance(coder.key_coder(), StrUtf8Coder), (t.unique_name, coder)
            stateful.append(t.unique_name)
    assert {
        "Dedup/Exact/ParDo(StatefulStepFn)",
        "Dedup/CompareAtAnchor",
        "Dedup/Decide/ParDo(DecideFn)",
        "Dedup/Identify/DecideIdentity/ParDo(StatefulStepFn)",
    } <= set(stateful)


def _strings(obj, depth: int = 0, seen: set[int] | None = None):
    """The strings an unpickled DoFn holds: its attributes, their
    attributes, and what lists, tuples, sets and dicts in them hold."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6:
        return
    seen.add(id(obj))
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, bytes | int | float | bool | type(None) | type | types.FunctionType | types.ModuleType):
        return  # code is not a setting: a function's co_filename is only for tracebacks
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _strings(key, depth + 1, seen)
            yield from _strings(value, depth + 1, seen)
    elif isinstance(obj, list | tuple | set | frozenset):
        for item in obj:
            yield from _strings(item, depth + 1, seen)
    elif hasattr(obj, "__dict__"):
        yield from _strings(vars(obj), depth + 1, seen)


def test_no_step_depends_on_a_local_path(plan):
    """Nothing a step holds (its pickled DoFn's settings: folders, files,
    patterns) points at this machine; neither does the rest of its proto."""
    from apache_beam.internal import pickler

    local = (str(ROOT), str(plan["work"]), tempfile.gettempdir() + "/", os.path.expanduser("~") + "/")
    for t in plan["proto"].components.transforms.values():
        blob = t.SerializeToString()
        assert not [p for p in local if p.encode() in blob], t.unique_name
    held = 0
    for name, payload in _pickled_dofns(plan["proto"]).items():
        for text in _strings(pickler.loads(payload)):
            held += 1
            assert not (text.startswith(local) or text.startswith("file:")), f"{name} holds local path {text!r}"
    assert held > 50  # the walk reached the DoFns' settings
    options = plan["job"]["environment"]["sdkPipelineOptions"]["options"]
    for flag in ("output", "temp_location"):
        assert options[flag].startswith("gs://"), flag


def _pickled_dofns(proto: beam_runner_api_pb2.Pipeline) -> dict[str, bytes]:
    found = {}
    for t in proto.components.transforms.values():
        if t.spec.urn == common_urns.primitives.PAR_DO.urn:
            payload = beam_runner_api_pb2.ParDoPayload.FromString(t.spec.payload)
            found[t.unique_name] = payload.do_fn.payload
    return found


LOAD_DOFNS = """
import json, pickle, sys
from apache_beam.internal import pickler
loaded = {}
for name, blob in pickle.load(open(sys.argv[1], "rb")).items():
    fn = pickler.loads(blob)[0]
    fn.setup()
    fn.teardown()
    loaded[name] = type(fn).__name__
print(json.dumps(loaded))
"""


def test_pickled_dofns_load_and_set_up_in_a_fresh_process(plan, tmp_path):
    dofns = _pickled_dofns(plan["proto"])
    blobs = tmp_path / "dofns.pickle"
    blobs.write_bytes(pickle.dumps(dofns))
    done = subprocess.run(
        [sys.executable, "-c", LOAD_DOFNS, str(blobs)],
        cwd=tmp_path, env=offline_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(loaded) == set(dofns)
    ours = {"ExtractFn", "DetectLanguageFn", "TagTopicsFn", "StatefulStepFn", "DecideFn",
            "ResolveFn", "FetchPagesFn", "MessageToDocumentFn", "WritePaneFn", "DecodeFn"}  # fmt: skip
    assert ours <= set(loaded.values()), ours - set(loaded.values())


def test_plan_refuses_other_runners_and_remote_files_it_cannot_read(tmp_path, capsys):
    from pipeline.plan import main

    assert main(["--plan_dir", str(tmp_path), *STREAMING_JOB, "--runner", "DirectRunner", "--setup_file", "x"]) == 2
    assert not (tmp_path / "job.json").exists()
    # No --runner means Dataflow, checked as such before Beam looks for a default bucket online.
    no_runner = [a for a in STREAMING_JOB if a not in ("--runner", "DataflowRunner") and not a.endswith("/tmp")]
    assert main(["--plan_dir", str(tmp_path), *[a for a in no_runner if a != "--temp_location"]]) == 2
    assert "--temp_location must be a gs:// path" in capsys.readouterr().err
    assert main(["--plan_dir", str(tmp_path), *STREAMING_JOB, "--setup_file", str(ROOT / "setup.py"),
                 "--taxonomy", f"{BUCKET}/taxonomy.yaml"]) == 2  # fmt: skip


@pytest.mark.parametrize(
    "flags,named",
    [
        ([a for a in STREAMING_JOB if a != "--temp_location" and not a.endswith("/tmp")], "--temp_location"),
        ([*STREAMING_JOB[:-4], "--output", "/srv/newsbeam"], "--output"),
        ([*STREAMING_JOB, "--manifest", "seeds/manifest.csv"], "--manifest"),
        ([*STREAMING_JOB[:2], *STREAMING_JOB[4:]], "--project"),
        ([*STREAMING_JOB[:4], *STREAMING_JOB[6:]], "--region"),
        (STREAMING_JOB, "--setup_file"),
        ([*STREAMING_JOB, "--setup_file", "setup.py", "--update", "--overwrite"], "--overwrite"),
    ],
)
def test_dataflow_flags_are_checked_before_beam_goes_online(flags, named):
    with pytest.raises(ValueError, match=named):
        validate_dataflow(PipelineOptions(flags))


def test_only_dataflow_streaming_launches_return_without_waiting():
    assert not waits(PipelineOptions(STREAMING_JOB))
    assert waits(PipelineOptions(CLOUD))  # batch on Dataflow: wait, then summarise
    assert not waits(PipelineOptions([*CLOUD, "--no_wait_until_finish"]))
    assert waits(PipelineOptions(["--streaming"]))  # local runners always wait


# --- the Flex Template -------------------------------------------------------


def _metadata() -> dict:
    return json.loads(METADATA_PATH.read_text(encoding="utf-8"))


def _flag_names() -> set[str]:
    return {o.lstrip("-") for action in flag_parser()._actions for o in action.option_strings}


def test_metadata_json_is_generated_from_the_current_flags():
    assert METADATA_PATH.read_text(encoding="utf-8") == render_metadata(), "run: make template-metadata"


SAMPLES = {  # a value of each kind a launch could pass, by parameter
    "input_subscription": "projects/newsbeam-demo/subscriptions/articles",
    "input_topic": "projects/newsbeam-demo/topics/articles",
    "manifest": "none",
    "ingested_at": "2026-01-01T00:00:00Z",
    "allow_networks": "10.0.0.0/8",
}


def _sample(param: dict) -> str:
    if param["name"] in SAMPLES:
        return SAMPLES[param["name"]]
    regex = (param.get("regexes") or [""])[0]
    return {r"^(true|false)$": "true", r"^[0-9]+$": "3", r"^[0-9]+(\.[0-9]+)?$": "2.5"}.get(regex, f"{BUCKET}/x")


def test_every_metadata_parameter_is_a_flag_the_pipeline_accepts():
    params = _metadata()["parameters"]
    names = [p["name"] for p in params]
    assert len(names) == len(set(names))
    assert set(names) <= _flag_names()
    argv = []
    for param in params:
        assert param["label"] and param["helpText"], param["name"]
        value = _sample(param)
        for regex in param.get("regexes", []):
            assert re.fullmatch(regex, value), (param["name"], value)
        argv.append(f"--{param['name']}={value}")  # how the launcher passes them
    parsed, unknown = flag_parser().parse_known_args(template_args(argv))
    assert not [u for u in unknown if u.lstrip("-").split("=")[0] in names]
    assert parsed.dedup is False and parsed.dedup_max_anchors == 3 and parsed.poll_seconds == 2.5


def test_every_flag_the_pipeline_requires_is_in_the_metadata():
    params = {p["name"]: p for p in _metadata()["parameters"]}
    for flag in REQUIRED_FLAGS:
        assert params[flag]["isOptional"] is False, flag
    assert set(SOURCE_FLAGS) <= set(params)  # one of them is required
    assert _flag_names() - set(params) - {"no_dedup"} <= set(NOT_IN_TEMPLATE) | {"dedup"}
    # The constants say what validate() demands: without them it refuses.
    only_source = PipelineOptions(["--input_subscription", SAMPLES["input_subscription"]])
    with pytest.raises(ValueError, match="--output"):
        validate(only_source.view_as(NewsbeamOptions))
    with pytest.raises(ValueError, match="--input"):
        validate(PipelineOptions(["--output", f"{BUCKET}/o"]).view_as(NewsbeamOptions))
    validate(PipelineOptions(["--input_subscription", SAMPLES["input_subscription"], "--output", f"{BUCKET}/o"])
             .view_as(NewsbeamOptions))  # fmt: skip


def test_metadata_regexes_refuse_what_would_fail_on_dataflow():
    params = {p["name"]: p["regexes"][0] for p in _metadata()["parameters"] if "regexes" in p}
    assert not re.fullmatch(params["output"], "/srv/newsbeam")
    assert not re.fullmatch(params["input_subscription"], "articles")
    assert not re.fullmatch(params["dedup_max_anchors"], "many")
    assert not re.fullmatch(params["no_dedup"], "yes")


def test_template_args_turn_launcher_strings_into_flags():
    args = template_args(["--no_dedup=true", "--favor_precision=false", "--output=gs://b/o"])
    assert args == ["--no_dedup", "--output=gs://b/o", "--runner=DataflowRunner", "--streaming"]
    with pytest.raises(ValueError, match="--no_dedup"):
        template_args(["--no_dedup=yes"])
    with pytest.raises(ValueError, match="--once"):
        template_args(["--once=true"])


def test_the_launcher_entry_point_runs_offline_with_launcher_style_flags(tmp_path):
    done = subprocess.run(
        [sys.executable, str(DEPLOY / "main.py"),
         "--input_subscription=projects/newsbeam-demo/subscriptions/articles", f"--output={BUCKET}/o",
         "--no_dedup=true", "--favor_precision=false", "--project=newsbeam-demo", "--region=europe-west1",
         f"--temp_location={BUCKET}/tmp", "--sdk_container_image=europe-docker.pkg.dev/p/r/newsbeam:t",
         "--dry_run=True"],
        cwd=tmp_path, env=offline_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "dry run" in done.stdout


# --- image, setup.py and lock ------------------------------------------------


def _setup_py() -> tuple[str, str, list[str]]:
    """BEAM_VERSION, python_requires and INSTALL_REQUIRES, read from setup.py."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    values = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = node.value
        if isinstance(node, ast.keyword) and node.arg == "python_requires":
            values["python_requires"] = node.value
    beam_version = ast.literal_eval(values["BEAM_VERSION"])
    requires = [
        elt.value.replace("{BEAM_VERSION}", beam_version) if isinstance(elt, ast.Constant) else
        "".join(v.value if isinstance(v, ast.Constant) else beam_version for v in elt.values)
        for elt in values["INSTALL_REQUIRES"].elts
    ]  # fmt: skip
    return beam_version, ast.literal_eval(values["python_requires"]), requires


def _lock() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if match:
            pins[_canonical(match.group(1))] = match.group(2)
    return pins


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dockerfile_args() -> dict[str, str]:
    text = (DEPLOY / "Dockerfile").read_text()
    return dict(re.findall(r"^ARG (\w+)=(\S+)", text, flags=re.M))


def test_dockerfile_image_tags_agree_with_setup_py_and_the_lock():
    from packaging.specifiers import SpecifierSet

    beam_version, python_requires, _ = _setup_py()
    args = _dockerfile_args()
    text = (DEPLOY / "Dockerfile").read_text()
    python = args["PYTHON_VERSION"]
    assert args["BEAM_VERSION"] == beam_version == _lock()["apache-beam"]
    assert f"{python}.0" in SpecifierSet(python_requires)
    assert "FROM apache/beam_python${PYTHON_VERSION}_sdk:${BEAM_VERSION}" in text
    launcher = re.search(r"dataflow-templates-base/python(\d)(\d+)-template-launcher-base", text)
    assert launcher and f"{launcher.group(1)}.{launcher.group(2)}" == python
    compiled_for = re.search(r"autogenerated by pip-compile with Python (\d+\.\d+)", LOCK.read_text())
    assert compiled_for and compiled_for.group(1) == python
    assert re.search(r"pip install .*-r requirements.lock", text) and "pip check" in text


def test_dockerfile_copies_files_that_exist_and_the_entry_point_it_names():
    text = (DEPLOY / "Dockerfile").read_text()
    sources = [s for line in re.findall(r"^COPY (?!--from)(.+) \S+$", text, flags=re.M) for s in line.split()]
    assert sources and all((ROOT / s).exists() for s in sources), sources
    workdir = re.search(r"^WORKDIR (\S+)", text, flags=re.M).group(1)
    entry = re.search(r"FLEX_TEMPLATE_PYTHON_PY_FILE=(\S+)", text).group(1)
    assert (ROOT / Path(entry).relative_to(workdir)).is_file()
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert all(f"!{s.rstrip('/')}" in [i.rstrip("/") for i in ignore] for s in sources), ".dockerignore hides a COPY"


def test_the_lock_pins_every_requirement_of_setup_py():
    from packaging.requirements import Requirement

    _, _, requires = _setup_py()
    pins = _lock()
    for line in requires:
        req = Requirement(line)
        name = _canonical(req.name)
        assert name in pins, f"{name} is not in requirements.lock: run make lock"
        assert req.specifier.contains(pins[name], prereleases=True), f"{line} vs {name}=={pins[name]}"


def test_this_test_venv_runs_exactly_the_locked_versions():
    """What the workers install (the lock) is what these tests ran on."""
    drift = {}
    for name, version in _lock().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            drift[name] = (version, installed)
    assert not drift, f"locked vs installed: {drift} (make test installs with -r requirements.lock)"


def test_the_lock_resolves_setup_py_on_its_own_in_a_fresh_venv(tmp_path):
    """pip resolves newsbeam and the lock together in an empty venv: no
    conflict, nothing missing (nothing resolved that the lock lacks), no
    pin left over."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    report = tmp_path / "report.json"
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
         "--disable-pip-version-check", "--report", str(report), "-r", str(LOCK), str(ROOT)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    resolved = {
        _canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in json.load(report.open())["install"]
    }
    assert resolved.pop("newsbeam") == "0.1.0"
    assert resolved == _lock()


# --- the launch script -----------------------------------------------------------

SCRIPT = DEPLOY / "flex.sh"
SETTINGS = {
    "PROJECT": "acme-news", "REGION": "asia-south1", "BUCKET": "acme-news-bucket", "REPOSITORY": "acme-repo",
    "SUBSCRIPTION": "wire", "TAG": "v7", "JOB_NAME": "acme-ingest",
}  # fmt: skip


def _script(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env={**base, "DRY_RUN": "1", **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("command", ["image", "build", "run", "update", "drain", "classic", "plan"])
def test_launch_script_takes_every_setting_from_the_environment(command):
    done = _script(command, **SETTINGS)
    assert done.returncode == 0, done.stderr
    line = done.stdout
    image = "asia-south1-docker.pkg.dev/acme-news/acme-repo/newsbeam:v7"
    expected = {
        "image": [image, "cloudbuild.yaml"],
        "build": ["gs://acme-news-bucket/templates/newsbeam-v7.json", image, "metadata.json"],
        "run": ["acme-ingest", "input_subscription=projects/acme-news/subscriptions/wire",
                "output=gs://acme-news-bucket/newsbeam", f"sdk_container_image={image}"],
        "update": ["acme-ingest", "--update"],
        "drain": ["drain", "asia-south1"],
        "classic": ["--setup_file", "--input_subscription projects/acme-news/subscriptions/wire"],
        "plan": ["plan", f"--sdk_container_image {image}"],
    }[command]  # fmt: skip
    for part in expected:
        assert part in line, (part, line)
    assert "newsbeam-demo" not in line  # nothing of ours hard-coded


def test_launch_script_names_what_is_missing():
    done = _script("run", **{k: v for k, v in SETTINGS.items() if k != "BUCKET"})
    assert done.returncode == 2 and "BUCKET is not set" in done.stderr
    done = _script("run", **{**SETTINGS, "REGION": ""})
    assert done.returncode == 2 and "REGION" in done.stderr
    flags = _script("build", "--project", "flagged-project", **{k: v for k, v in SETTINGS.items() if k != "PROJECT"})
    assert flags.returncode == 0 and "flagged-project" in flags.stdout


def _gcloud_flags(*command: str) -> set[str]:
    done = subprocess.run(["gcloud", *command, "--help"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1", "PAGER": "cat"})  # fmt: skip
    text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
    flags = set(re.findall(r"--(?:\[no-\])?([a-z][a-z-]+)", text))
    return {f"--{f}" for f in flags}


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="gcloud is not installed: its flags cannot be checked")
@pytest.mark.parametrize(
    "command,gcloud",
    [("image", ["builds", "submit"]), ("build", ["dataflow", "flex-template", "build"]),
     ("update", ["dataflow", "flex-template", "run"]), ("drain", ["dataflow", "jobs", "drain"])],
)  # fmt: skip
def test_launch_script_calls_gcloud_with_flags_it_has(command, gcloud):
    done = _script(command, **SETTINGS, SERVICE_ACCOUNT="sa@x", MACHINE_TYPE="n2-standard-2", MAX_WORKERS="3")
    used = set(re.findall(r"(?<=\s)--[a-z-]+", done.stdout))
    assert used, done.stdout
    assert used <= _gcloud_flags(*gcloud), used - _gcloud_flags(*gcloud)
