#!/usr/bin/env python3
"""Runs the benchmark commands round-robin and writes the results section of docs/benchmarks.md.

    measure.py --bench-dir DIR --bin SPINNAKER_KRM --kustomize KUSTOMIZE --doc docs/benchmarks.md \
               [--cases full,100,1000,5000] [--reps 7] [--slow 20] [--json FILE]

Each command is one whole process, run under GNU time (`/usr/bin/time -f %M`), which forks it from a small
process and reports its peak RSS (the child's own and its waited-for children's; never an earlier benchmark
process, unlike RUSAGE_CHILDREN, and never this Python process, whose pages a child spawned from here would
count until its exec). The wall time is measured here around that, so it includes starting GNU time: the
`true` row is that floor.

Per case: one warm-up round (every command once), then --reps rounds that run every command once each, in
the same order, so drift and noise hit all commands alike. A command whose warm-up took longer than --slow
seconds keeps that one run as its only sample and leaves the later rounds (kubectl and standalone kustomize
are superlinear and take minutes at 5,000 Deployments); the table marks it.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

TARGETS = {
    "floor_ratio": 1.5,  # transform / parse-and-emit floor, full install (issue 6)
    "floor_ratio_sized": 1.3,  # transform / parse-and-emit floor, 100, 1,000 and 5,000 Deployments (issue 15)
    "json_ratio": 2.0,  # parse-and-emit floor / serde_json parse + emit of the same items as JSON (issue 15)
    "musl_ratio": 1.1,  # the static (musl) build, which the sidecar image ships / the glibc build (issue 15)
    "kubectl_speedup": 20.0,  # kubectl kustomize / transform at 1,000 Deployments
    "full_install_ms": 10.0,  # whole-process wall time for one Spinnaker install
    "rss_per_input": 20.0,  # peak RSS / input size
}
GNU_TIME = "/usr/bin/time"
# The single-threaded commands run pinned to one CPU (the last one this process may use). Unpinned, the
# scheduler moves a run between CPUs and the medians of the same binary drifted 30-70% between sessions on a
# 2-CPU machine; pinned, in a quiet period, they repeat within a few percent (other tenants' bursts remain:
# see `paired`). kubectl and kustomize are multi-threaded Go
# programs (and kustomize runs the function as a child process): pinning would slow them, so they run free.
PINNED = {"transform", "identity", "transform_musl", "identity_musl", "serde_json", "identity_out", "cat", "true",
          "footprint"}
PIN_CPU = max(os.sched_getaffinity(0))
BEGIN = "<!-- results:begin (written by benches/measure.py) -->"
END = "<!-- results:end -->"


def empty_resource_list(case_dir):
    """A ResourceList with no items, beside the case's input."""
    path = os.path.join(case_dir, "empty-resource-list.yaml")
    if not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as f:
            f.write("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n")
    return path


def commands(case_dir, binary, kustomize, musl=None, json_floor=None):
    """(key, label, argv, stdin, cwd) for one case. The ResourceList commands run in the case directory, where
    the BOM is (the function reads bom/1.27.0.yml relative to its working directory, as under kustomize).
    `musl` is the static build the sidecar image ships; `json_floor` the serde_json parse + emit reference,
    which reads the same ResourceList written as JSON."""
    rl = os.path.join(case_dir, "resource-list.yaml")
    transformed = os.path.join(case_dir, "transformed.yaml")
    # The order they run in, each pair of a target's ratio back to back: musl then glibc transform, glibc
    # transform then its floor, the floor then serde_json (`paired`). The tables list them in DISPLAY order.
    paired_order = []
    if musl:
        paired_order.append(
            ("transform_musl", "`spinnaker-krm`, static musl build (what the sidecar image ships)", [musl], rl, case_dir)
        )
    paired_order += [
        ("transform", "`spinnaker-krm` (pins, truststore, mTLS)", [binary], rl, case_dir),
        ("identity", "`spinnaker-krm --identity` (parse + emit floor)", [binary, "--identity"], rl, case_dir),
    ]
    if json_floor:
        json_rl = os.path.join(case_dir, "resource-list.json")
        paired_order.append(
            ("serde_json", "serde_json parse + emit of the same ResourceList as JSON (the limit of a tree parser)",
             [json_floor], json_rl, case_dir)
        )
    if musl:
        paired_order.append(
            ("identity_musl", "`spinnaker-krm --identity`, static musl build", [musl, "--identity"], rl, case_dir)
        )
    return [
        *paired_order,
        (
            "identity_out",
            "`spinnaker-krm --identity` on the transform's output (reference: parse + emit at the output's size)",
            [binary, "--identity"],
            transformed,
            case_dir,
        ),
        ("cat", "`cat` (I/O floor)", [shutil.which("cat")], rl, case_dir),
        ("true", "`true` (process start floor)", [shutil.which("true")], None, case_dir),
        (
            "footprint",
            "`spinnaker-krm --identity` on an empty ResourceList (the process's own memory footprint)",
            [binary, "--identity"],
            empty_resource_list(case_dir),
            case_dir,
        ),
        (
            "kubectl",
            "`kubectl kustomize` (images + SMP patches)",
            [shutil.which("kubectl"), "kustomize", "kubectl"],
            None,
            case_dir,
        ),
        (
            "kustomize_fn",
            "`kustomize build --enable-exec` with the function",
            [kustomize, "build", "--enable-alpha-plugins", "--enable-exec", "krm"],
            None,
            case_dir,
        ),
        (
            "kustomize_cat",
            "`kustomize build --enable-exec` with `cat` as the function",
            [kustomize, "build", "--enable-alpha-plugins", "--enable-exec", "krm-cat"],
            None,
            case_dir,
        ),
        ("kustomize_plain", "`kustomize build`, resources only", [kustomize, "build", "plain"], None, case_dir),
    ]


# The order of the rows in the tables (the run order differs: see `commands`).
DISPLAY = ["transform", "identity", "transform_musl", "identity_musl", "serde_json"]


def run_once(key, argv, stdin, cwd, out_dir):
    out = os.path.join(out_dir, f"{key}.out")
    err = os.path.join(out_dir, f"{key}.err")
    rss_file = os.path.join(out_dir, f"{key}.rss")
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, stdin or os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    timed = [GNU_TIME, "-f", "%M", "-o", rss_file, "--", *argv]
    here = os.getcwd()
    os.chdir(cwd)
    try:
        free = os.sched_getaffinity(0)
        if key in PINNED:
            os.sched_setaffinity(0, {PIN_CPU})  # the child inherits it
        start = time.perf_counter_ns()
        try:
            pid = os.posix_spawn(GNU_TIME, timed, os.environ, file_actions=actions)
        finally:
            os.sched_setaffinity(0, free)
        _, status = os.waitpid(pid, 0)
        wall = (time.perf_counter_ns() - start) / 1e9
    finally:
        os.chdir(here)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        with open(err, encoding="utf-8", errors="replace") as f:
            sys.exit(f"measure.py: {' '.join(argv)} (in {cwd}) exited {code}: {f.read()[:2000]}")
    with open(rss_file, encoding="utf-8") as f:
        peak_kib = int(f.read().split()[-1])
    return wall, peak_kib * 1024


def count_instructions(case, case_dir, binary, out_dir, json_floor=None):
    """Instructions of the transform and the floor under valgrind's callgrind (they repeat to the instruction,
    unlike wall time on a shared machine): what shows whether cost grows linearly. None without valgrind or
    for the full install."""
    valgrind = shutil.which("valgrind")
    if not valgrind or case == "full":
        return None
    counts = {}
    runs = [("transform", [binary], "resource-list.yaml"), ("identity", [binary, "--identity"], "resource-list.yaml")]
    if json_floor:
        runs.append(("serde_json", [json_floor], "resource-list.json"))
    for key, command, source in runs:
        log = os.path.join(out_dir, f"{key}.callgrind.log")
        argv = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", f"--log-file={log}", *command]
        with open(os.path.join(case_dir, source), "rb") as stdin:
            subprocess.run(argv, stdin=stdin, stdout=subprocess.DEVNULL, cwd=case_dir, check=True)
        with open(log, encoding="utf-8") as f:
            collected = [line.split("Collected :")[1] for line in f if "Collected :" in line]
        counts[key] = int(collected[-1].strip().replace(",", ""))
        print(f"  {key}: {counts[key]:,} instructions (callgrind)", file=sys.stderr, flush=True)
    return counts


def check_outputs(case, out_dir, deployments):
    """Every route must have done the work it is timed for: per JVM Deployment the CA bundle volume and the init
    container's mount of it (kustomize sorts keys, so count names, not layouts)."""
    jvm = sum(1 for i in range(deployments) if i % 11 != 1)  # deck (index 1 of the cycle) is not a JVM
    for key in ("transform", "transform_musl", "kubectl", "kustomize_fn"):
        path = os.path.join(out_dir, f"{key}.out")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            got = len(re.findall(r"name: spinnaker-krm-ca-bundle$", f.read(), re.M))
        if got != 2 * jvm:
            sys.exit(f"measure.py: case {case}: {key} names the CA bundle volume {got} times, expected {2 * jvm}")


def measure_case(case, case_dir, binary, kustomize, reps, slow, skip, musl=None, json_floor=None):
    out_dir = os.path.join(case_dir, "out")
    os.makedirs(out_dir, exist_ok=True)
    cmds = [c for c in commands(case_dir, binary, kustomize, musl, json_floor) if c[0] not in skip]
    samples = {c[0]: [] for c in cmds}
    capped = set()
    print(f"case {case}: warm-up", file=sys.stderr, flush=True)
    for key, _, argv, stdin, cwd in cmds:
        wall, rss = run_once(key, argv, stdin, cwd, out_dir)
        print(f"  {key}: {wall:.3f} s, {rss / 2**20:.1f} MiB", file=sys.stderr, flush=True)
        if wall > slow:
            samples[key].append((wall, rss))
            capped.add(key)
    deployments = count_deployments(case_dir)
    check_outputs(case, out_dir, deployments)
    for rep in range(reps):
        print(f"case {case}: round {rep + 1}/{reps}", file=sys.stderr, flush=True)
        for key, _, argv, stdin, cwd in cmds:
            if key not in capped:
                samples[key].append(run_once(key, argv, stdin, cwd, out_dir))
    return {
        "case": case,
        "deployments": deployments,
        "instructions": count_instructions(case, case_dir, binary, out_dir, json_floor),
        "input_bytes": os.path.getsize(os.path.join(case_dir, "resource-list.yaml")),
        "output_bytes": os.path.getsize(os.path.join(out_dir, "transform.out")),
        "identity_output_bytes": os.path.getsize(os.path.join(out_dir, "identity.out")),
        "commands": [
            {
                "key": key,
                "label": label,
                "argv": argv,
                "wall": [w for w, _ in samples[key]],
                "rss": [r for _, r in samples[key]],
                "capped": key in capped,
            }
            for key, label, argv, _, _ in cmds
        ],
        "skipped": [
            label for key, label, _, _, _ in commands(case_dir, binary, kustomize, musl, json_floor) if key in skip
        ],
    }


def count_deployments(case_dir):
    with open(os.path.join(case_dir, "resource-list.yaml"), encoding="utf-8") as f:
        return sum(1 for line in f if line == "  kind: Deployment\n")


def tool_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def machine(binary, kustomize):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    status = ["git", "status", "--porcelain", "--untracked-files=no"]
    dirty = subprocess.run(status, capture_output=True, text=True).stdout
    return {
        "date": datetime.date.today().isoformat(),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "commit": git + (" (with uncommitted changes)" if dirty.strip() else ""),
        "rustc": tool_version(["rustc", "--version"]),
        "kubectl": tool_version(["kubectl", "version", "--client"]),
        "kubectl_kustomize": next(
            (line for line in tool_version_all(["kubectl", "version", "--client"]) if "Kustomize" in line), "unknown"
        ),
        "kustomize": tool_version([kustomize, "version"]),
        "python": platform.python_version(),
        "pinned_cpu": PIN_CPU,
    }


def tool_version_all(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout.splitlines()
    except OSError:
        return []


# ---------------------------------------------------------------------------------------------------------------
# Report


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_time(s):
    if s != s:  # nan
        return "–"
    if s < 0.1:
        return f"{s * 1000:.1f} ms"
    if s < 10:
        return f"{s * 1000:.0f} ms"
    return f"{s:.1f} s"


def fmt_mib(b):
    return f"{b / 2**20:.1f} MiB"


def fmt_size(b):
    if b < 2**20:
        return f"{b / 1024:.0f} KiB"
    return f"{b / 2**20:.1f} MiB"


def label_of(case):
    return "full install (25 objects)" if case["case"] == "full" else f"{case['deployments']:,} Deployments"


def cmd(case, key):
    return next((c for c in case["commands"] if c["key"] == key), None)


def wall(case, key):
    c = cmd(case, key)
    return med(c["wall"]) if c else float("nan")


def rss(case, key):
    c = cmd(case, key)
    return med(c["rss"]) if c else float("nan")


def pinning(meta):
    if "pinned_cpu" not in meta:
        return "Pinning not recorded."
    return f"Single-threaded commands pinned to CPU {meta['pinned_cpu']}."


def paired(case, a, b):
    """The median of the per-round ratios a/b: the two commands ran one after the other in every round, so
    noise that lasts longer than a round (another tenant of the machine) hits both and cancels out of each
    ratio, where it would not cancel out of the ratio of two medians. Falls back to the ratio of the medians
    when either command was capped."""
    ca, cb = cmd(case, a), cmd(case, b)
    if ca["capped"] or cb["capped"] or len(ca["wall"]) != len(cb["wall"]):
        return wall(case, a) / wall(case, b)
    return med([x / y for x, y in zip(ca["wall"], cb["wall"])])


def verdict(ok):
    return "**PASS**" if ok else "**FAIL**"


def render(results, meta, command_line):
    cases = results
    lines = [BEGIN, ""]
    lines.append(f"Measured {meta['date']} at commit {meta['commit']} with `{command_line}`.")
    lines.append("")
    lines.append(
        f"Machine: {meta['nproc']} CPUs ({meta['cpu']}), {meta['memory_gib']} GiB RAM, Linux {meta['kernel']}; "
        f"{meta['rustc']}; kubectl {meta['kubectl']} ({meta['kubectl_kustomize']}); standalone kustomize "
        f"{meta['kustomize']}; Python {meta['python']}. {pinning(meta)}"
    )
    lines.append("")

    # Targets.
    lines.append("### Targets")
    lines.append("")
    lines.append("| target | measured | verdict |")
    lines.append("|---|---|---|")
    for case in cases:
        if not (cmd(case, "transform") and cmd(case, "identity")):
            continue
        r = paired(case, "transform", "identity")
        target = TARGETS["floor_ratio" if case["case"] == "full" else "floor_ratio_sized"]
        lines.append(
            f"| transform / parse-and-emit floor ≤ {target}x, {label_of(case)} | {r:.2f}x "
            f"(medians {fmt_time(wall(case, 'transform'))} / {fmt_time(wall(case, 'identity'))}) | "
            f"{verdict(r <= target)} |"
        )
    for case in cases:
        if not (cmd(case, "identity") and cmd(case, "serde_json")):
            continue
        r = paired(case, "identity", "serde_json")
        lines.append(
            f"| parse-and-emit floor / serde_json parse + emit ≤ {TARGETS['json_ratio']}x, {label_of(case)} | {r:.2f}x "
            f"(medians {fmt_time(wall(case, 'identity'))} / {fmt_time(wall(case, 'serde_json'))}) | "
            f"{verdict(r <= TARGETS['json_ratio'])} |"
        )
    for case in cases:
        if not (cmd(case, "transform") and cmd(case, "transform_musl")):
            continue
        r = paired(case, "transform_musl", "transform")
        lines.append(
            f"| static musl build (shipped) / glibc build ≤ {TARGETS['musl_ratio']}x, transform, {label_of(case)} | "
            f"{r:.2f}x (medians {fmt_time(wall(case, 'transform_musl'))} / {fmt_time(wall(case, 'transform'))}) | "
            f"{verdict(r <= TARGETS['musl_ratio'])} |"
        )
    thousand = next((c for c in cases if c["case"] == "1000"), None)
    if thousand and cmd(thousand, "kubectl"):
        s = wall(thousand, "kubectl") / wall(thousand, "transform")
        lines.append(
            f"| ≥ {TARGETS['kubectl_speedup']:.0f}x faster than `kubectl kustomize`, 1,000 Deployments | {s:.0f}x "
            f"({fmt_time(wall(thousand, 'kubectl'))} / {fmt_time(wall(thousand, 'transform'))}) | "
            f"{verdict(s >= TARGETS['kubectl_speedup'])} |"
        )
    full = next((c for c in cases if c["case"] == "full"), None)
    if full:
        t = wall(full, "transform") * 1000
        lines.append(
            f"| full install < {TARGETS['full_install_ms']:.0f} ms wall, whole process | {t:.1f} ms "
            f"(process start alone: {wall(full, 'true') * 1000:.1f} ms) | {verdict(t < TARGETS['full_install_ms'])} |"
        )
    for case in cases:
        ratio = rss(case, "transform") / case["input_bytes"]
        lines.append(
            f"| peak RSS < {TARGETS['rss_per_input']:.0f}x input, {label_of(case)} | {ratio:.1f}x "
            f"({fmt_mib(rss(case, 'transform'))} for {fmt_size(case['input_bytes'])}) | "
            f"{verdict(ratio < TARGETS['rss_per_input'])} |"
        )
    if all(cmd(case, "footprint") for case in cases):
        for case in cases:
            above = rss(case, "transform") - rss(case, "footprint")
            ratio = above / case["input_bytes"]
            lines.append(
                f"| peak RSS above the process's own footprint < {TARGETS['rss_per_input']:.0f}x input, "
                f"{label_of(case)} | {ratio:.1f}x ({fmt_mib(above)} above {fmt_mib(rss(case, 'footprint'))}) | "
                f"{verdict(ratio < TARGETS['rss_per_input'])} |"
            )
    lin = linearity(cases)
    if lin and lin["unit"] == "instructions":
        lines.append(
            f"| linear growth: transform instructions per Deployment (callgrind), {lin['a']:,} → {lin['b']:,} (±10%) | "
            f"{lin['per_a'] / 1e6:.2f}M → {lin['per_b'] / 1e6:.2f}M ({lin['change']:+.1%}) | "
            f"{verdict(abs(lin['change']) <= 0.10)} |"
        )
    elif lin:
        lines.append(
            f"| linear growth: transform time per Deployment, {lin['a']:,} → {lin['b']:,} (±25%) | "
            f"{lin['per_a']:.0f} µs → {lin['per_b']:.0f} µs ({lin['change']:+.0%}) | "
            f"{verdict(abs(lin['change']) <= 0.25)} |"
        )
    lines.append("")

    # Per case tables.
    for case in cases:
        lines.append(f"### {label_of(case)}")
        lines.append("")
        lines.append(
            f"ResourceList {fmt_size(case['input_bytes'])}; the transform writes {fmt_size(case['output_bytes'])}, "
            f"the identity {fmt_size(case['identity_output_bytes'])}."
        )
        lines.append("")
        lines.append("| command | wall median | wall min – max | runs | peak RSS median | vs transform |")
        lines.append("|---|---|---|---|---|---|")
        t = wall(case, "transform")
        shown = sorted(case["commands"], key=lambda c: DISPLAY.index(c["key"]) if c["key"] in DISPLAY else len(DISPLAY))
        for c in shown:
            w = med(c["wall"])
            runs = f"{len(c['wall'])}" + (" (capped)" if c["capped"] else "")
            spread = f"{fmt_time(min(c['wall']))} – {fmt_time(max(c['wall']))}"
            peak = fmt_mib(med(c["rss"]))
            lines.append(f"| {c['label']} | {fmt_time(w)} | {spread} | {runs} | {peak} | {w / t:.2f}x |")
        for label in case["skipped"]:
            lines.append(f"| {label} | not run (see below) | | | | |")
        lines.append("")
        lines.append(ratios_line(case))
        lines.append("")

    # Linearity.
    if lin:
        lines.append("### Growth with N")
        lines.append("")
        per = "per Deployment"
        counted = all(c.get("instructions") for c in cases if c["case"] != "full")
        head = f"| Deployments | transform | {per} | identity | {per} | kubectl kustomize | {per} |"
        json_counted = counted and all("serde_json" in c["instructions"] for c in cases if c["case"] != "full")
        if counted:
            head += f" transform instructions | {per} | identity instructions | {per} |"
        if json_counted:
            head += " serde_json instructions | identity / serde_json | transform / identity |"
        lines.append(head)
        lines.append("|---" * head.count(" | ") + "|---|")
        for case in cases:
            if case["case"] == "full":
                continue
            n = case["deployments"]
            row = [f"{n:,}"]
            for key in ("transform", "identity", "kubectl"):
                w = wall(case, key)
                row += [fmt_time(w), f"{w / n * 1e6:.0f} µs" if w == w else "–"]
            if counted:
                for key in ("transform", "identity"):
                    i = case["instructions"][key]
                    row += [f"{i / 1e6:,.0f}M", f"{i / n / 1e6:.2f}M"]
            if json_counted:
                i = case["instructions"]
                row += [
                    f"{i['serde_json'] / 1e6:,.0f}M",
                    f"{i['identity'] / i['serde_json']:.2f}x",
                    f"{i['transform'] / i['identity']:.2f}x",
                ]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        if lin["unit"] == "instructions":
            lines.append(
                f"Transform instructions per Deployment change by {lin['change']:+.1%} from {lin['a']:,} to "
                f"{lin['b']:,} Deployments: linear. Wall time per Deployment drifts with the machine between cases "
                "(the floor's does too), and the fixed start-up makes small N look dearer."
            )
        else:
            lines.append(
                f"Transform time per Deployment changes by {lin['change']:+.0%} from {lin['a']:,} to {lin['b']:,} "
                f"Deployments (linear: constant per Deployment; the fixed start-up makes small N look dearer)."
            )
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def ratios_line(case):
    t = wall(case, "transform")
    parts = [
        f"transform / identity **{t / wall(case, 'identity'):.2f}x**",
        f"transform / cat {t / wall(case, 'cat'):.1f}x",
    ]
    if cmd(case, "serde_json"):
        parts.append(f"identity / serde_json **{wall(case, 'identity') / wall(case, 'serde_json'):.2f}x**")
    if cmd(case, "transform_musl"):
        parts.append(f"musl / glibc transform **{wall(case, 'transform_musl') / t:.2f}x**")
        parts.append(f"musl / glibc identity {wall(case, 'identity_musl') / wall(case, 'identity'):.2f}x")
    if cmd(case, "identity_out"):
        parts.append(f"transform / identity of its own output {t / wall(case, 'identity_out'):.2f}x")
    if cmd(case, "kubectl"):
        parts.append(f"kubectl kustomize / transform **{wall(case, 'kubectl') / t:.1f}x**")
    if cmd(case, "kustomize_fn"):
        k = wall(case, "kustomize_fn")
        parts.append(f"the function's own run is {t / k:.1%} of `kustomize build --enable-exec` with it")
        if cmd(case, "kustomize_cat"):
            parts.append(f"kustomize with `cat` as the function {fmt_time(wall(case, 'kustomize_cat'))}")
        if cmd(case, "kustomize_plain"):
            parts.append(f"kustomize without a function {fmt_time(wall(case, 'kustomize_plain'))}")
    return "Ratios (medians): " + "; ".join(parts) + "."


def linearity(cases):
    """Transform cost per Deployment at the two largest sizes, where process start-up is amortised: callgrind
    instructions when they were counted (wall time on a shared machine drifts between cases by more than
    the growth it would show), else wall time."""
    sized = [c for c in cases if c["case"] != "full"]
    if len(sized) < 2:
        return None
    a, b = sized[-2], sized[-1]
    if a.get("instructions") and b.get("instructions"):
        unit = "instructions"
        per_a = a["instructions"]["transform"] / a["deployments"]
        per_b = b["instructions"]["transform"] / b["deployments"]
    else:
        unit = "µs"
        per_a = wall(a, "transform") / a["deployments"] * 1e6
        per_b = wall(b, "transform") / b["deployments"] * 1e6
    change = per_b / per_a - 1
    return {"a": a["deployments"], "b": b["deployments"], "per_a": per_a, "per_b": per_b, "change": change, "unit": unit}


def write_doc(doc, section):
    text = ""
    if os.path.exists(doc):
        with open(doc, encoding="utf-8") as f:
            text = f.read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + section + tail
    else:
        text = text + ("\n" if text else "") + section + "\n"
    with open(doc, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-dir")
    ap.add_argument("--bin")
    ap.add_argument("--kustomize")
    ap.add_argument("--musl-bin", help="the static musl build (what the sidecar image ships)")
    ap.add_argument("--json-floor", help="the serde_json parse + emit reference program")
    ap.add_argument("--doc")
    ap.add_argument("--json")
    ap.add_argument("--cases", default="full,100,1000,5000")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--slow", type=float, default=20.0)
    ap.add_argument("--skip", default="", help="case:command pairs to leave out, e.g. 5000:kubectl")
    ap.add_argument("--command-line", default="benches/run.sh")
    ap.add_argument("--from-json", help="render the report from an earlier --json file, measure nothing")
    args = ap.parse_args()
    if args.from_json:
        with open(args.from_json, encoding="utf-8") as f:
            saved = json.load(f)
        section = render(saved["cases"], saved["machine"], args.command_line)
        if args.doc:
            write_doc(args.doc, section)
        print(section)
        return 0
    binary = os.path.abspath(args.bin)
    kustomize = os.path.abspath(args.kustomize)
    musl = os.path.abspath(args.musl_bin) if args.musl_bin else None
    json_floor = os.path.abspath(args.json_floor) if args.json_floor else None
    skips = [s.split(":", 1) for s in args.skip.split(",") if s]
    # Read before measuring: the commit is the one the binaries were built from (run.sh builds them first).
    meta = machine(binary, kustomize)
    results = []
    for case in args.cases.split(","):
        skip = {cmd for c, cmd in skips if c == case}
        case_dir = os.path.abspath(os.path.join(args.bench_dir, case))
        results.append(measure_case(case, case_dir, binary, kustomize, args.reps, args.slow, skip, musl, json_floor))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": meta, "cases": results}, f, indent=1)
    section = render(results, meta, args.command_line)
    if args.doc:
        write_doc(args.doc, section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
