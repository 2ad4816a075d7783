#!/usr/bin/env python3
"""ANN scale benchmark: vjsearch-ann against hnswlib and FAISS IndexHNSWFlat, single-threaded, same M/efC.

Every (size, dim) pair of --sizes × --dims is a data set: a Gaussian mixture of a few hundred centres,
normalised (cosine), with exact ground truth by brute force; base, queries, ground truth and churn vectors
are cached in the workdir per (n, d). Per set:
  - builds ours (f32, and unless --skip-int8 a second index with int8 storage and exact rescoring) and the
    references in --refs; build time, build RSS, disk size;
  - sweeps ef: recall@10, QPS (wall and CPU), RSS while searching, per library; ratios are to hnswlib;
  - open + first query of ours and hnswlib from a fresh process; `vjsearch-ann info` of both of ours, whose
    search_bytes_per_vector give the int8 memory ratio; `verify` of ours;
  - unless --skip-churn: `vjsearch-ann churn` on a copy of the f32 index (20 videos of 60 extra vectors added,
    deleted and re-added, one commit per video), then `verify` of the copy.
It prints a table per set, merges the figures into <workdir>/ann-scale.json keyed by n×d (so sizes run at
different times add up), draws --plot (docs/ann-scale.png) from that file, prints a 10M estimate on paper
fitted to it, and last the RESULT line for the largest n run (its smallest dim).

    bench.py --bin .build/release/vjsearch-ann --sizes 100k,300k,1M --dims 256,768 --refs hnswlib,faiss
    bench.py --bin … --sizes 20k --dims 256 --nq 200 --repeat 1 --workdir /tmp/ann --plot /tmp/ann/scale.png
"""
import argparse, json, os, subprocess, sys, time, shutil
from datetime import datetime, timezone
from types import SimpleNamespace

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "../../.."))
REFERENCES = ("hnswlib", "faiss")
TARGET_RECALL = 0.95
CHURN_VIDEO, CHURN_VIDEOS = 60, 20  # a video's clip windows, and how many videos churn adds
GENERATE_ROWS = 50_000  # rows generated at a time: 1M × 768 never sits whole in memory
RESULTS_JSON = "ann-scale.json"


# ---- data ------------------------------------------------------------------------------------------------

def parse_count(text):
    """'20k' → 20000, '1M' → 1000000, '2500' → 2500."""
    text = text.strip()
    scale = {"k": 1_000, "K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def count_label(n):
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:g}k" if n >= 1000 else str(n)


def fvecs_rows(x):
    """x laid out as .fvecs rows: each row prefixed by the dimension, an int32."""
    n, d = x.shape
    out = np.empty((n, d + 1), dtype=np.float32)
    out[:, 0] = np.array([d], dtype=np.int32).view(np.float32)[0]
    out[:, 1:] = x
    return out


def write_fvecs(path, x):
    fvecs_rows(x).tofile(path)


def read_ivecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    k = raw[0]
    return raw.reshape(-1, k + 1)[:, 1:]


def data_files(args, n, d):
    """Paths of the cached data set for (n, d); queries and centres are in the name, as they change all files."""
    tag = os.path.join(args.workdir, f"{n}x{d}-c{args.centres}-q{args.nq}")
    return SimpleNamespace(base_npy=f"{tag}.base.npy", base_fvecs=f"{tag}.base.fvecs", queries_npy=f"{tag}.q.npy",
                           queries_fvecs=f"{tag}.q.fvecs", first_query_fvecs=f"{tag}.q1.fvecs",
                           extra_fvecs=f"{tag}.extra.fvecs", gt_npy=f"{tag}.gt.npy")


def ensure_data(args, n, d):
    files = data_files(args, n, d)
    # The ground truth is written last, so a run stopped half-way is not taken for a cached set.
    if not os.path.exists(files.gt_npy):
        started = time.perf_counter()
        generate(files, n, d, args.nq, args.centres, seed=d * 1000 + n)
        print(f"  data generated in {time.perf_counter() - started:.1f} s", flush=True)
    return files


def generate(files, n, d, nq, centres, seed):
    """Writes base (.npy and .fvecs), queries, the churn vectors and the ground truth, in blocks of rows."""
    rng = np.random.default_rng(seed)
    centre_vectors = rng.standard_normal((centres, d), dtype=np.float32)

    def sample(m):
        x = centre_vectors[rng.integers(0, centres, m)]
        x += 0.8 * rng.standard_normal((m, d), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x

    base = np.lib.format.open_memmap(files.base_npy, mode="w+", dtype=np.float32, shape=(n, d))
    with open(files.base_fvecs, "wb") as out:
        for start in range(0, n, GENERATE_ROWS):
            block = sample(min(GENERATE_ROWS, n - start))
            base[start:start + len(block)] = block
            fvecs_rows(block).tofile(out)
    base.flush()
    queries = sample(nq)
    np.save(files.queries_npy, queries)
    write_fvecs(files.queries_fvecs, queries)
    write_fvecs(files.first_query_fvecs, queries[:1])
    write_fvecs(files.extra_fvecs, sample(CHURN_VIDEO * CHURN_VIDEOS))
    np.save(files.gt_npy, ground_truth(base, queries, 10))


def top_k(sims, ids, k):
    """The k largest similarities of each row (with their ids), unordered."""
    if sims.shape[1] <= k:
        return sims, ids
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return np.take_along_axis(sims, part, axis=1), np.take_along_axis(ids, part, axis=1)


def ground_truth(base, queries, k):
    """Exact top-k by inner product in one pass over base, in blocks of rows: memory stays at
    queries × block similarities (128 MiB, and argpartition's int64 indices twice that), whatever n."""
    block = max(1024, 2**25 // len(queries))
    best_sims = np.empty((len(queries), 0), dtype=np.float32)
    best_ids = np.empty((len(queries), 0), dtype=np.int64)
    for start in range(0, len(base), block):
        rows = np.asarray(base[start:start + block])
        sims = queries @ rows.T
        ids = np.broadcast_to(np.arange(start, start + len(rows)), sims.shape)
        sims, ids = top_k(sims, ids, k)
        best_sims, best_ids = top_k(np.hstack([best_sims, sims]), np.hstack([best_ids, ids]), k)
    order = np.argsort(-best_sims, axis=1)
    return np.take_along_axis(best_ids, order, axis=1)


def recall(found, gt, k=10):
    hits = sum(len(set(f[:k]) & set(g[:k])) for f, g in zip(found, gt))
    return hits / (len(gt) * k)


# ---- processes -------------------------------------------------------------------------------------------

def measured(cmd):
    """Runs cmd, returns (stdout, seconds, peak RSS in MiB).

    Peak RSS comes from /usr/bin/time: a child forked straight from this (large) Python process would
    inherit its high-water mark.
    """
    rss_file = f"/tmp/vjsearch-bench-rss-{os.getpid()}"
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file] + cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    with open(rss_file) as f:
        rss = int(f.read().strip().splitlines()[-1]) / 1024
    return p.stdout, seconds, rss


def key_values(out):
    """Every key=value item in out (a later one wins), values as floats where they are numbers."""
    values = {}
    for item in out.split():
        key, eq, value = item.partition("=")
        if eq:
            try:
                values[key] = float(value)
            except ValueError:
                values[key] = value
    return values


def dir_size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs if f != "lock.mdb")


def worker(args):
    """Runs one reference library in this (child) process and prints JSON.

    `<lib>-build` builds and saves the index; `<lib>-search` loads it and times each ef once;
    `hnswlib-open` times load plus the first query; `hnswlib-add` loads it and times adding, then marking deleted,
    the churn's videos (`--base` is then the extra .fvecs), one call per video, as our churn commits them.
    """
    queries = np.load(args.queries)
    d = queries.shape[1]
    res = {}
    lib, _, mode = args.worker.partition("-")
    if mode == "build":
        base = np.load(args.base)
        n = len(base)
        t = time.perf_counter()
        c = time.process_time()
        if lib == "hnswlib":
            import hnswlib
            idx = hnswlib.Index(space="cosine", dim=d)
            idx.init_index(max_elements=n, ef_construction=args.efc, M=args.m, random_seed=1)
            idx.set_num_threads(1)
            idx.add_items(base, np.arange(n), num_threads=1)
            res["build_s"] = time.perf_counter() - t
            res["build_cpu_s"] = time.process_time() - c
            idx.save_index(args.save)
        else:
            import faiss
            faiss.omp_set_num_threads(1)
            idx = faiss.IndexHNSWFlat(d, args.m, faiss.METRIC_INNER_PRODUCT)
            idx.hnsw.efConstruction = args.efc
            idx.add(base)
            res["build_s"] = time.perf_counter() - t
            res["build_cpu_s"] = time.process_time() - c
            faiss.write_index(idx, args.save)
    elif mode == "search":
        if lib == "hnswlib":
            import hnswlib
            idx = hnswlib.Index(space="cosine", dim=d)
            idx.load_index(args.save)
            def run(ef):
                idx.set_ef(ef)
                return idx.knn_query(queries, k=10, num_threads=1)[0]
        else:
            import faiss
            faiss.omp_set_num_threads(1)
            idx = faiss.read_index(args.save)
            def run(ef):
                idx.hnsw.efSearch = ef
                return idx.search(queries, 10)[1]
        run(args.efs[0])  # warm the pages
        res["curve"] = []
        for ef in args.efs:
            t = time.perf_counter()
            c = time.process_time()
            labels = run(ef)
            res["curve"].append([ef, labels.tolist(), len(queries) / (time.perf_counter() - t),
                                 len(queries) / (time.process_time() - c)])
    elif mode == "add":
        import hnswlib
        raw = np.fromfile(args.base, dtype=np.float32)
        extra = raw.reshape(-1, int(raw[:1].view(np.int32)[0]) + 1)[:, 1:]
        idx = hnswlib.Index(space="cosine", dim=d)
        idx.load_index(args.save, max_elements=0)
        first = idx.get_current_count()
        idx.resize_index(first + len(extra))
        idx.set_num_threads(1)
        videos = [range(s, s + CHURN_VIDEO) for s in range(0, CHURN_VIDEO * CHURN_VIDEOS, CHURN_VIDEO)]
        def timed(call):
            t = time.perf_counter()
            call()
            return (time.perf_counter() - t) * 1000
        adds = [timed(lambda v=v: idx.add_items(extra[v.start:v.stop], np.arange(first + v.start, first + v.stop),
                                                num_threads=1)) for v in videos]
        deletes = [timed(lambda v=v: [idx.mark_deleted(first + i) for i in v]) for v in videos]
        res = {"add_video_ms_p50": float(np.percentile(adds, 50)), "add_video_ms_p99": float(np.percentile(adds, 99)),
               "delete_video_ms_p50": float(np.percentile(deletes, 50))}
    elif mode == "open":
        import hnswlib
        t = time.perf_counter()
        idx = hnswlib.Index(space="cosine", dim=d)
        idx.load_index(args.save)
        idx.set_ef(64)
        idx.knn_query(queries[:1], k=10, num_threads=1)
        res["open_first_ms"] = (time.perf_counter() - t) * 1000
    print(json.dumps(res))


# ---- one data set ----------------------------------------------------------------------------------------

def build_ours(args, files, index_dir, storage):
    shutil.rmtree(index_dir, ignore_errors=True)
    out, _, rss = measured([args.bin, "build", "--index", index_dir, "--vectors", files.base_fvecs,
                            "--metric", "cosine", "--m", str(args.m), "--ef-construction", str(args.efc),
                            "--batch", str(args.batch), "--storage", storage])
    v = key_values(out)
    return dict(build_s=v["build_s"], build_cpu_s=v["build_cpu_s"], build_rss_mib=rss, disk_bytes=dir_size(index_dir))


def build_reference(args, files, lib, save):
    out, _, rss = measured([sys.executable, __file__, "--worker", f"{lib}-build", "--base", files.base_npy,
                            "--queries", files.queries_npy, "--save", save, "--m", str(args.m), "--efc", str(args.efc)])
    r = json.loads(out)
    return dict(build_s=r["build_s"], build_cpu_s=r["build_cpu_s"], build_rss_mib=rss, disk_bytes=os.path.getsize(save))


def search_rounds(args, files, rows, indexes, gt, results_ivecs):
    """Fills each library's curve {ef: (recall, qps, cpu qps)} and its search RSS.

    Rounds interleave the libraries so that load on a shared machine hits all alike; each (library, ef) keeps
    its best round. All are timed warm: the references after loading their index and one untimed pass, ours
    after one untimed pass (`--warmup 1`) that faults the map in.
    """
    def keep(lib, ef, labels, qps, cpu_qps, rss):
        r = rows[lib]
        r["search_rss_mib"] = max(r.get("search_rss_mib", 0), rss)
        old = r["curve"].get(ef, (0, 0.0, 0.0))
        r["curve"][ef] = (recall(labels, gt), max(qps, old[1]), max(cpu_qps, old[2]))

    efs = ",".join(map(str, args.efs))
    for _ in range(args.repeat):
        for lib, path in indexes.items():
            if not lib.startswith("ours"):  # a reference worker sweeps every ef in one process
                out, _, rss = measured([sys.executable, __file__, "--worker", f"{lib}-search", "--queries",
                                        files.queries_npy, "--save", path, "--efs", efs])
                for ef, labels, qps, cpu_qps in json.loads(out)["curve"]:
                    keep(lib, ef, np.array(labels), qps, cpu_qps, rss)
                continue
            for ef in args.efs:
                out, _, rss = measured([args.bin, "search", "--index", path, "--queries", files.queries_fvecs,
                                        "--k", "10", "--ef", str(ef), "--threads", "1", "--out", results_ivecs,
                                        "--warmup", "1"])
                v = key_values(out)
                keep(lib, ef, read_ivecs(results_ivecs), v["qps"], v["cpu_qps"], rss)


def reopen_ms(args, files, index_dir, hnswlib_save):
    """Open plus first query from a fresh process (index pages warm in the OS cache), median of 5:
    (ours in-process, ours wall including process start, hnswlib or None)."""
    opens, walls, refs = [], [], []
    for _ in range(5):
        out, wall, _ = measured([args.bin, "search", "--index", index_dir, "--queries", files.first_query_fvecs,
                                 "--k", "10", "--ef", "64"])
        opens.append(key_values(out)["open_and_first_query_ms"])
        walls.append(wall * 1000)
        if hnswlib_save:
            out, _, _ = measured([sys.executable, __file__, "--worker", "hnswlib-open", "--queries", files.queries_npy,
                                  "--save", hnswlib_save])
            refs.append(json.loads(out)["open_first_ms"])
    median = lambda xs: sorted(xs)[len(xs) // 2] if xs else None
    return median(opens), median(walls), median(refs)


def verify(args, index_dir):
    """verify's last line; an unsound index (exit 1) is a finding to report, not a reason to stop the run."""
    p = subprocess.run([args.bin, "verify", "--index", index_dir], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.exit(f"error: verify {index_dir} failed ({p.returncode}):\n{p.stderr}")
    last = (p.stdout.strip().splitlines() or [""])[-1]
    return last if p.returncode == 0 else f"UNSOUND: {last}"


def info(args, index_dir):
    return key_values(measured([args.bin, "info", "--index", index_dir])[0])


def churn(args, files, index_dir, n, hnswlib_save=None):
    """Adds, deletes and re-adds videos on a copy of the f32 index (so the search figures keep the built one),
    then verifies the copy; ids start at n, past the base's."""
    copy = index_dir + "-churn"
    shutil.rmtree(copy, ignore_errors=True)
    # lock.mdb holds reader slots, not data: LMDB makes a fresh one for the copy.
    shutil.copytree(index_dir, copy, ignore=shutil.ignore_patterns("lock.mdb"))
    # The copy sits dirty in the page cache: without this the first commit's sync would write the whole file.
    os.sync()
    out, _, _ = measured([args.bin, "churn", "--index", copy, "--vectors", files.extra_fvecs, "--first-id", str(n),
                          "--video", str(CHURN_VIDEO), "--videos", str(CHURN_VIDEOS)])
    result = {k: v for k, v in key_values(out).items() if k.endswith(("_p50", "_p99"))}
    result["verify"] = verify(args, copy)
    if args.random_ops:
        # Random inserts, deletes and updates on top, each its own commit, then verify (exit 1 when unsound).
        p = subprocess.run([args.bin, "random-ops", "--index", copy, "--vectors", files.extra_fvecs,
                            "--first-id", str(2 * n), "--ops", str(args.random_ops)], capture_output=True, text=True)
        result["random_ops"] = {"ops": args.random_ops, "sound": p.returncode == 0,
                                "summary": (p.stdout.strip().splitlines() or ["(no output)"])[0],
                                "verify": (p.stdout.strip().splitlines() or [p.stderr.strip()])[-1]}
    shutil.rmtree(copy)  # as large as the index itself
    if hnswlib_save:
        # The reference: hnswlib adding the same videos in memory (no commit, no disk), one call per video.
        out, _, _ = measured([sys.executable, __file__, "--worker", "hnswlib-add", "--base", files.extra_fvecs,
                              "--queries", files.queries_npy, "--save", hnswlib_save, "--efc", str(args.efc)])
        result["hnswlib"] = json.loads(out)
    return result


def bench_set(args, n, d):
    """Runs one data set and returns its record (as stored in ann-scale.json)."""
    print(f"\n== {count_label(n)} x {d}: clustered ({args.centres} centres), cosine, {args.nq} queries, "
          f"M={args.m} efC={args.efc}, 1 thread", flush=True)
    files = ensure_data(args, n, d)
    gt = np.load(files.gt_npy)
    prefix = os.path.join(args.workdir, f"{n}x{d}")
    indexes = {"ours": f"{prefix}.vjindex"}
    if not args.skip_int8:
        indexes["ours-int8"] = f"{prefix}.int8.vjindex"
    indexes.update({lib: f"{prefix}.{lib}.bin" for lib in args.refs})

    rows = {}
    for lib, path in indexes.items():  # builds, one after the other
        if lib.startswith("ours"):
            rows[lib] = build_ours(args, files, path, "int8" if lib == "ours-int8" else "f32")
        else:
            rows[lib] = build_reference(args, files, lib, path)
        rows[lib]["curve"] = {}
        print(f"  {lib} built in {rows[lib]['build_s']:.1f} s ({rows[lib]['build_cpu_s']:.1f} CPU s)", flush=True)
    search_rounds(args, files, rows, indexes, gt, f"{prefix}.ours.ivecs")

    hnswlib_save = indexes.get("hnswlib")
    rows["ours"]["reopen_ms"], reopen_wall_ms, ref_reopen = reopen_ms(args, files, indexes["ours"], hnswlib_save)
    if hnswlib_save:
        rows["hnswlib"]["reopen_ms"] = ref_reopen
    record = dict(n=n, dim=d, m=args.m, efc=args.efc, nq=args.nq, centres=args.centres,
                  when=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  libs={lib: dict(r, curve=[[ef, *r["curve"][ef]] for ef in sorted(r["curve"])])
                        for lib, r in rows.items()},
                  reopen_wall_ms=reopen_wall_ms, verify=verify(args, indexes["ours"]),
                  info={"f32": info(args, indexes["ours"])})
    if not args.skip_int8:
        record["info"]["int8"] = info(args, indexes["ours-int8"])
        record["int8_mem_ratio"] = (record["info"]["int8"]["search_bytes_per_vector"]
                                    / record["info"]["f32"]["search_bytes_per_vector"])
    if not args.skip_churn:
        record["churn"] = churn(args, files, indexes["ours"], n, indexes.get("hnswlib"))
    record["summary"] = {clock: summarise(record, clock) for clock in ("wall", "cpu")}
    print_set(record)
    return record


# ---- summaries and printing ------------------------------------------------------------------------------

CLOCK_COLUMN = {"wall": 2, "cpu": 3}  # curve rows are [ef, recall, qps, cpu qps]


def first_reaching(curve, column, target=TARGET_RECALL):
    """(ef, recall, figure in column) at the first ef whose recall@10 reaches target, or None."""
    return next(((row[0], row[1], row[column]) for row in curve if row[1] >= target), None)


def summarise(record, clock):
    """The headline figures of a set on one clock; None where a library or a step did not run or no ef
    reached the target recall."""
    libs, column = record["libs"], CLOCK_COLUMN[clock]
    build_key = "build_s" if clock == "wall" else "build_cpu_s"
    curve = lambda lib: libs[lib]["curve"] if lib in libs else []
    ours, ref, int8 = (first_reaching(curve(lib), column) for lib in ("ours", "hnswlib", "ours-int8"))
    ratio = lambda a, b: a[2] / b[2] if (a and b) else None
    s = dict(ef=ours and ours[0], ref_ef=ref and ref[0],
             recall10=ours[1] if ours else max(row[1] for row in curve("ours")),
             qps_ratio=ratio(ours, ref), int8_qps_ratio=ratio(int8, ref),
             build_ratio=libs["ours"][build_key] / libs["hnswlib"][build_key] if "hnswlib" in libs else None,
             reopen_ms=libs["ours"]["reopen_ms"], int8_recall10=None)
    if "ours-int8" in libs:
        # int8 at f32's chosen ef, or at its best where f32 never reaches the target.
        at_ef = [row[1] for row in curve("ours-int8") if row[0] == s["ef"]]
        s["int8_recall10"] = at_ef[0] if at_ef else max(row[1] for row in curve("ours-int8"))
    return s


def fmt(value, spec, missing="nan"):
    return missing if value is None else format(value, spec)


def print_set(record):
    libs, name = record["libs"], f"{count_label(record['n'])} x {record['dim']}"
    ref = libs.get("hnswlib")
    print("qps: wall-clock queries/s; cpu qps: queries per CPU-second of the searching process (fairer on a shared,")
    print("overloaded machine: waiting for a core is left out). Ratios are to hnswlib at the same ef.")
    print(f"{'library':<9} {'ef':>4} {'recall@10':>10} {'qps':>8} {'ratio':>6} {'cpu qps':>8} {'ratio':>6}")
    for lib, r in libs.items():
        for i, (ef, rec, qps, cqps) in enumerate(r["curve"]):
            hq, hc = (ref["curve"][i][2], ref["curve"][i][3]) if ref else (None, None)
            print(f"{lib:<9} {ef:>4} {rec:>10.4f} {qps:>8.0f} {fmt(hq and qps / hq, '.2f', '-'):>6} {cqps:>8.0f} "
                  f"{fmt(hc and cqps / hc, '.2f', '-'):>6}")
    print(f"{'library':<9} {'build s':>8} {'build CPU s':>12} {'disk MiB':>9} {'build RSS MiB':>14} "
          f"{'search RSS MiB':>15} {'open+1st query ms':>18}")
    for lib, r in libs.items():
        print(f"{lib:<9} {r['build_s']:>8.2f} {r['build_cpu_s']:>12.2f} {r['disk_bytes'] / 2**20:>9.1f} "
              f"{r['build_rss_mib']:>14.0f} {r['search_rss_mib']:>15.0f} {fmt(r.get('reopen_ms'), '.1f', '-'):>18}")
    print(f"ours: open + first query from a fresh process: {libs['ours']['reopen_ms']:.1f} ms in-process, "
          f"{record['reopen_wall_ms']:.1f} ms wall including process start; hnswlib load_index + first query: "
          f"{fmt(ref and ref['reopen_ms'], '.1f', '-')} ms")
    print(f"ours: verify: {record['verify']}")
    for storage, i in record["info"].items():
        print(f"ours {storage}: search bytes/vector {i['search_bytes_per_vector']:.0f}, "
              f"stored bytes/vector {i['stored_bytes_per_vector']:.0f}")
    if "int8_mem_ratio" in record:
        print(f"ours-int8: search bytes per vector / f32's = {record['int8_mem_ratio']:.3f}")
    if "churn" in record:
        c = record["churn"]
        print(f"ours: churn ({CHURN_VIDEOS} videos of {CHURN_VIDEO} vectors, one commit each, on a copy): "
              f"add p50 {c['add_video_ms_p50']:.2f} p99 {c['add_video_ms_p99']:.2f} ms; "
              f"delete p50 {c['delete_video_ms_p50']:.2f} p99 {c['delete_video_ms_p99']:.2f} ms; "
              f"re-add p50 {c['readd_video_ms_p50']:.2f} p99 {c['readd_video_ms_p99']:.2f} ms; verify: {c['verify']}")
        if "random_ops" in c:
            r = c["random_ops"]
            print(f"ours: then {r['summary']}; verify: {r['verify']}")
        if "hnswlib" in c:
            h = c["hnswlib"]
            print(f"hnswlib: the same videos added in memory (no commit): add p50 {h['add_video_ms_p50']:.2f} "
                  f"p99 {h['add_video_ms_p99']:.2f} ms; mark_deleted p50 {h['delete_video_ms_p50']:.3f} ms")
    for clock, column in CLOCK_COLUMN.items():
        s = record["summary"][clock]
        found = lambda lib: first_reaching(libs[lib]["curve"], column) if lib in libs else None
        rounded = lambda f: f and (f[0], round(f[1], 4), round(f[2]))
        print(f"{name} ({clock} clock): first ef with recall >= {TARGET_RECALL}: ours {rounded(found('ours'))}, "
              f"int8 {rounded(found('ours-int8'))}, hnswlib {rounded(found('hnswlib'))} (ef, recall, qps); "
              f"build ratio {fmt(s['build_ratio'], '.3f')}", flush=True)


# ---- across data sets ------------------------------------------------------------------------------------

def load_results(path):
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def merge_results(path, records):
    """Adds this run's records to the file's, keyed by n×d (a set run again replaces its old record)."""
    results = load_results(path)
    results.update({f"{r['n']}x{r['dim']}": r for r in records})
    with open(path + ".tmp", "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)
    return results


def by_dim(results):
    """{dim: records sorted by n}."""
    dims = {}
    for r in sorted(results.values(), key=lambda r: r["n"]):
        dims.setdefault(r["dim"], []).append(r)
    return dict(sorted(dims.items()))


def figure(record, path):
    """A figure of a record by a path of keys ('libs/ours/build_cpu_s'); None where a step did not run."""
    value = record
    for key in path.split("/"):
        if not isinstance(value, dict) or value.get(key) is None:
            return None
        value = value[key]
    return value


MIB = 1 / 2**20
PANELS = [  # title, y label, log y (as the 10M estimate fits), [(series, key path, scale)]
    ("Build time", "CPU seconds", True,
     [("ours f32", "libs/ours/build_cpu_s", 1), ("hnswlib", "libs/hnswlib/build_cpu_s", 1),
      ("faiss", "libs/faiss/build_cpu_s", 1)]),
    (f"QPS vs hnswlib at recall@10 ≥ {TARGET_RECALL}", "ratio (CPU time)", False,
     [("ours f32", "summary/cpu/qps_ratio", 1), ("ours int8", "summary/cpu/int8_qps_ratio", 1)]),
    ("Recall@10 at ours' chosen ef", "recall@10", False,
     [("ours f32", "summary/cpu/recall10", 1), ("ours int8", "summary/cpu/int8_recall10", 1)]),
    (f"Churn: one commit per {CHURN_VIDEO}-vector video", "ms per commit", True,
     [("add p50", "churn/add_video_ms_p50", 1), ("add p99", "churn/add_video_ms_p99", 1),
      ("delete p50", "churn/delete_video_ms_p50", 1),
      ("hnswlib add p50 (in memory)", "churn/hnswlib/add_video_ms_p50", 1)]),
    ("RSS while searching", "MiB", True,
     [("ours f32", "libs/ours/search_rss_mib", 1), ("ours int8", "libs/ours-int8/search_rss_mib", 1)]),
    ("Index on disk", "MiB", True,
     [("ours f32", "libs/ours/disk_bytes", MIB), ("ours int8", "libs/ours-int8/disk_bytes", MIB)]),
]


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")  # files only: no display here
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogFormatterSciNotation, NullLocator

    class PlainLogFormatter(LogFormatterSciNotation):
        """Matplotlib's choice of labelled log ticks, written as plain numbers (40, not 4×10¹)."""
        def __call__(self, x, pos=None):
            return f"{x:g}" if super().__call__(x, pos) else ""

    dims = by_dim(results)
    sizes = sorted({r["n"] for r in results.values()})
    dim_styles = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D")]  # markers tell single points apart too
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    for ax, (title, ylabel, log_y, series) in zip(axes.flat, PANELS):
        for colour, (label, key, scale) in zip(("C0", "C1", "C2", "C3"), series):
            for (line, marker), (dim, records) in zip(dim_styles, dims.items()):
                points = [(r["n"], figure(r, key) * scale) for r in records if figure(r, key) is not None]
                if points:
                    ax.plot(*zip(*points), linestyle=line, marker=marker, color=colour, markersize=4,
                            label=f"{label}, {dim}d")
        if "ratio" in ylabel:
            ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xticks(sizes, [count_label(n) for n in sizes])
        ax.xaxis.set_minor_locator(NullLocator())  # the log axis would label its minor ticks too
        if log_y:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(PlainLogFormatter())
            ax.yaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))
        ax.set(title=title, xlabel="vectors in the index (n)", ylabel=ylabel)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "not run", transform=ax.transAxes, ha="center", color="grey")
    latest = max(results.values(), key=lambda r: r["when"])
    fig.suptitle(f"vjsearch-ann scale: clustered cosine data, M={latest['m']} efC={latest['efc']}, one thread; "
                 f"line and marker style: dimension")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"\nplot: {path}")


ESTIMATED = [  # name, key path, scale, unit
    ("build", "libs/ours/build_cpu_s", 1 / 3600, "CPU h"),
    ("add video p50", "churn/add_video_ms_p50", 1, "ms"),
    ("add video p99", "churn/add_video_ms_p99", 1, "ms"),
    ("search RSS f32", "libs/ours/search_rss_mib", 1 / 1024, "GiB"),
    ("search RSS int8", "libs/ours-int8/search_rss_mib", 1 / 1024, "GiB"),
    ("disk f32", "libs/ours/disk_bytes", 1 / 2**30, "GiB"),
    ("disk int8", "libs/ours-int8/disk_bytes", 1 / 2**30, "GiB"),
]


def estimate_10m(results, target=10_000_000):
    """Fits each figure as c·n^b (least squares on log-log) over the sizes run, per dim, and extrapolates."""
    print(f"\n10M estimate on paper (not measured): each figure fitted as c·n^b over the sizes in the results "
          f"file, per dim,\nthen carried from the largest size run to n={count_label(target)} with that slope. "
          f"Assumes the same dim, M, efC and\nclustered data; one thread; the index memory-mapped (RSS = pages "
          f"touched) with the whole index fitting in RAM;\nthe power law holding past the sizes run (no cache or "
          f"memory cliff: page faults would make build and search slower).\nA fixed part (the process's own RSS) "
          f"flattens a slope fitted over small sizes: fit over 100k and up.")
    ram_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    for dim, records in by_dim(results).items():
        if len({r["n"] for r in records}) < 2:
            print(f"  {dim}d: only n={count_label(records[0]['n'])} run; a slope needs two sizes or more")
            continue
        for name, key, scale, unit in ESTIMATED:
            points = [(r["n"], figure(r, key)) for r in records if figure(r, key)]
            if len(points) < 2:
                continue
            n, y = np.log(np.array(points, dtype=float)).T
            slope = np.polyfit(n, y, 1)[0]
            largest_n, largest_y = points[-1]
            print(f"  {dim}d {name:<16} n^{slope:.2f} over {len(points)} sizes: {largest_y * scale:.3g} {unit} at "
                  f"{count_label(largest_n)} → {largest_y * scale * (target / largest_n) ** slope:.3g} {unit} at "
                  f"{count_label(target)}")
        stored = figure(records[-1], "info/f32/stored_bytes_per_vector")
        if stored:
            print(f"  {dim}d f32 vectors alone at {count_label(target)}: {stored * target / 2**30:.1f} GiB "
                  f"(this machine has {ram_gib:.0f} GiB of RAM)")


def headline(records, clock):
    """Each figure's worst over the sets, on one clock."""
    s = [r["summary"][clock] for r in records]
    worst = lambda key, pick: pick([x[key] for x in s if x[key] is not None], default=None)
    return (f"recall10={fmt(worst('recall10', min), '.4f')} qps_ratio={fmt(worst('qps_ratio', min), '.3f')} "
            f"build_ratio={fmt(worst('build_ratio', max), '.3f')} reopen_ms={fmt(worst('reopen_ms', max), '.1f')}")


def result_line(records):
    """The RESULT line: the largest n run, its smallest dim, CPU-time ratios."""
    n = max(r["n"] for r in records)
    record = min((r for r in records if r["n"] == n), key=lambda r: r["dim"])
    s, churned = record["summary"]["cpu"], record.get("churn", {})
    return (f"RESULT n={n} dim={record['dim']} recall10={fmt(s['recall10'], '.4f')} "
            f"qps_ratio={fmt(s['qps_ratio'], '.3f')} build_ratio={fmt(s['build_ratio'], '.3f')} "
            f"add_video_ms_p50={fmt(churned.get('add_video_ms_p50'), '.2f')} "
            f"add_video_ms_p99={fmt(churned.get('add_video_ms_p99'), '.2f')} "
            f"delete_video_ms={fmt(churned.get('delete_video_ms_p50'), '.2f')} "
            f"int8_recall10={fmt(s['int8_recall10'], '.4f')} int8_mem_ratio={fmt(record.get('int8_mem_ratio'), '.3f')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--base", help=argparse.SUPPRESS)
    ap.add_argument("--queries", help=argparse.SUPPRESS)
    ap.add_argument("--save", help=argparse.SUPPRESS)
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build/release/vjsearch-ann"))
    ap.add_argument("--sizes", default="100k", help="base sizes, k/M suffixes allowed: 100k,300k,1M")
    ap.add_argument("--dims", default="256,768", help="dimensions (the product's is 256)")
    ap.add_argument("--refs", default="hnswlib,faiss", help="reference libraries, any of hnswlib,faiss, or none")
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--centres", type=int, default=300)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=200)
    ap.add_argument("--efs", default="16,32,64,128,256")
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved search rounds; the best counts")
    ap.add_argument("--skip-int8", action="store_true", help="no int8-storage index")
    ap.add_argument("--random-ops", type=int, default=1000,
                    help="random inserts/deletes/updates on the churned copy, then verify (0: none)")
    ap.add_argument("--skip-churn", action="store_true", help="no churn run")
    ap.add_argument("--workdir", default=os.path.join(ROOT, ".build/bench-ann"))
    ap.add_argument("--plot", default=os.path.join(ROOT, "docs/ann-scale.png"))
    ap.add_argument("--report-only", action="store_true",
                    help="run nothing: plot, estimate and RESULT from the workdir's ann-scale.json")
    args = ap.parse_args()
    args.efs = [int(x) for x in args.efs.split(",")]
    if args.worker:
        return worker(args)
    args.refs = [] if args.refs in ("", "none") else args.refs.split(",")
    if unknown := set(args.refs) - set(REFERENCES):
        ap.error(f"--refs: unknown {', '.join(sorted(unknown))}; choose from {', '.join(REFERENCES)}")
    results_json = os.path.join(args.workdir, RESULTS_JSON)
    if args.report_only:
        results = load_results(results_json)
        if not results:
            sys.exit(f"error: no results in {results_json}")
        records = list(results.values())
    else:
        os.makedirs(args.workdir, exist_ok=True)
        records = [bench_set(args, parse_count(n), int(d)) for n in args.sizes.split(",") for d in args.dims.split(",")]
        results = merge_results(results_json, records)
    plot(results, args.plot)
    estimate_10m(results)
    print("\nThe machine is shared with other jobs; each figure is single-threaded. Worst over the sets reported:")
    print("wall-clock: " + headline(records, "wall"))
    print("cpu-time:   " + headline(records, "cpu"))
    print("RESULT (the largest n run, its smallest dim; ratios on CPU time, to hnswlib) follows.")
    print(result_line(records))


if __name__ == "__main__":
    main()
