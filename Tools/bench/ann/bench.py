#!/usr/bin/env python3
"""ANN benchmark: vjsearch-ann against hnswlib and FAISS IndexHNSWFlat, single-threaded, same M/efC.

Data: a Gaussian mixture of a few hundred centres, normalised (cosine), with exact ground truth by
brute force. Prints a table per data set and, last, the RESULT line.
"""
import argparse, json, os, subprocess, sys, time, shutil

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def write_fvecs(path, x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    n, d = x.shape
    out = np.empty((n, d + 1), dtype=np.float32)
    out[:, 0] = np.array([d], dtype=np.int32).view(np.float32)[0]
    out[:, 1:] = x
    out.tofile(path)


def read_ivecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    k = raw[0]
    return raw.reshape(-1, k + 1)[:, 1:]


def make_data(n, d, nq, centres, seed):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, d)).astype(np.float32)
    def sample(m):
        a = rng.integers(0, centres, m)
        x = c[a] + 0.8 * rng.standard_normal((m, d)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)
    return sample(n), sample(nq)


def ground_truth(base, queries, k):
    gt = np.empty((len(queries), k), dtype=np.int64)
    for s in range(0, len(queries), 100):
        sims = queries[s:s + 100] @ base.T
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
        gt[s:s + 100] = np.take_along_axis(part, order, axis=1)
    return gt


def recall(found, gt, k=10):
    hits = sum(len(set(f[:k]) & set(g[:k])) for f, g in zip(found, gt))
    return hits / (len(gt) * k)


def measured(cmd):
    """Runs cmd with wait4, returns (stdout, seconds, peak RSS in MiB)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = "", ""
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        sys.exit(f"error: {' '.join(cmd)} failed ({status}):\n{err}")
    return out, seconds, usage.ru_maxrss / 1024


def dir_size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs if f != "lock.mdb")


def worker(args):
    """Runs one reference library in this (child) process and prints JSON."""
    base = np.load(args.base)
    queries = np.load(args.queries)
    n, d = base.shape
    res = {}
    if args.worker == "hnswlib":
        import hnswlib
        idx = hnswlib.Index(space="cosine", dim=d)
        idx.init_index(max_elements=n, ef_construction=args.efc, M=args.m, random_seed=1)
        idx.set_num_threads(1)
        t = time.perf_counter()
        idx.add_items(base, np.arange(n), num_threads=1)
        res["build_s"] = time.perf_counter() - t
        idx.save_index(args.save)
        res["size"] = os.path.getsize(args.save)
        res["curve"] = []
        for ef in args.efs:
            idx.set_ef(ef)
            idx.knn_query(queries[:50], k=10, num_threads=1)
            best = 0.0
            for _ in range(args.repeat):
                t = time.perf_counter()
                labels, _ = idx.knn_query(queries, k=10, num_threads=1)
                best = max(best, len(queries) / (time.perf_counter() - t))
            res["curve"].append([ef, labels.tolist(), best])
    elif args.worker == "faiss":
        import faiss
        faiss.omp_set_num_threads(1)
        idx = faiss.IndexHNSWFlat(d, args.m, faiss.METRIC_INNER_PRODUCT)
        idx.hnsw.efConstruction = args.efc
        t = time.perf_counter()
        idx.add(base)
        res["build_s"] = time.perf_counter() - t
        faiss.write_index(idx, args.save)
        res["size"] = os.path.getsize(args.save)
        res["curve"] = []
        for ef in args.efs:
            idx.hnsw.efSearch = ef
            idx.search(queries[:50], 10)
            best = 0.0
            for _ in range(args.repeat):
                t = time.perf_counter()
                _, labels = idx.search(queries, 10)
                best = max(best, len(queries) / (time.perf_counter() - t))
            res["curve"].append([ef, labels.tolist(), best])
    elif args.worker == "hnswlib-open":
        import hnswlib
        t = time.perf_counter()
        idx = hnswlib.Index(space="cosine", dim=d)
        idx.load_index(args.save)
        idx.set_ef(64)
        idx.knn_query(queries[:1], k=10, num_threads=1)
        res["open_first_ms"] = (time.perf_counter() - t) * 1000
    print(json.dumps(res))


def bench_set(args, n, d, workdir):
    name = f"{n // 1000}k x {d}"
    print(f"\n== {name}: clustered ({args.centres} centres), cosine, {args.nq} queries, M={args.m} efC={args.efc}, 1 thread",
          flush=True)
    base, queries = make_data(n, d, args.nq, args.centres, seed=d * 1000 + n)
    gt = ground_truth(base, queries, 10)
    tag = f"{n}x{d}"
    base_npy, q_npy = f"{workdir}/{tag}.base.npy", f"{workdir}/{tag}.q.npy"
    np.save(base_npy, base)
    np.save(q_npy, queries)
    base_f, q_f, q1_f = f"{workdir}/{tag}.base.fvecs", f"{workdir}/{tag}.q.fvecs", f"{workdir}/{tag}.q1.fvecs"
    write_fvecs(base_f, base)
    write_fvecs(q_f, queries)
    write_fvecs(q1_f, queries[:1])
    rows = {}

    # Ours.
    index_dir = f"{workdir}/{tag}.vjindex"
    shutil.rmtree(index_dir, ignore_errors=True)
    out, secs, rss = measured([args.bin, "build", "--index", index_dir, "--vectors", base_f, "--metric", "cosine",
                               "--m", str(args.m), "--ef-construction", str(args.efc), "--batch", str(args.batch)])
    build_s = float([l for l in out.splitlines() if l.startswith("build_s=")][0].split("=")[1])
    curve = []
    for ef in args.efs:
        res_f = f"{workdir}/{tag}.ours.ivecs"
        qps = 0.0
        for _ in range(args.repeat):
            out, _, srss = measured([args.bin, "search", "--index", index_dir, "--queries", q_f, "--k", "10",
                                     "--ef", str(ef), "--threads", "1", "--out", res_f])
            qps = max(qps, float(out.strip().splitlines()[-1].split("=")[1]))
        curve.append((ef, recall(read_ivecs(res_f), gt), qps))
        rss = max(rss, srss)
    opens = []
    for _ in range(5):
        out, wall, _ = measured([args.bin, "search", "--index", index_dir, "--queries", q1_f, "--k", "10", "--ef", "64"])
        first = float(out.splitlines()[-2].split("open_and_first_query_ms=")[1])
        opens.append((first, wall * 1000))
    opens.sort()
    rows["ours"] = dict(build_s=build_s, size=dir_size(index_dir), rss=rss, curve=curve,
                        reopen_ms=opens[len(opens) // 2][0], reopen_wall_ms=opens[len(opens) // 2][1])
    verify, _, _ = measured([args.bin, "verify", "--index", index_dir])
    rows["ours"]["verify"] = verify.strip().splitlines()[-1]

    for lib in ("hnswlib", "faiss"):
        save = f"{workdir}/{tag}.{lib}.bin"
        out, _, rss = measured([sys.executable, __file__, "--worker", lib, "--base", base_npy, "--queries", q_npy,
                                "--save", save, "--m", str(args.m), "--efc", str(args.efc),
                                "--efs", ",".join(map(str, args.efs)), "--repeat", str(args.repeat)])
        r = json.loads(out)
        rows[lib] = dict(build_s=r["build_s"], size=r["size"], rss=rss,
                         curve=[(ef, recall(np.array(lab), gt), qps) for ef, lab, qps in r["curve"]])
    opens = []
    for _ in range(5):
        out, wall, _ = measured([sys.executable, __file__, "--worker", "hnswlib-open", "--base", base_npy, "--queries",
                                 q_npy, "--save", f"{workdir}/{tag}.hnswlib.bin"])
        opens.append(json.loads(out)["open_first_ms"])
    rows["hnswlib"]["reopen_ms"] = sorted(opens)[2]

    print(f"{'library':<9} {'ef':>4} {'recall@10':>10} {'qps':>9}")
    for lib in ("ours", "hnswlib", "faiss"):
        for ef, rec, qps in rows[lib]["curve"]:
            print(f"{lib:<9} {ef:>4} {rec:>10.4f} {qps:>9.0f}")
    print(f"{'library':<9} {'build s':>8} {'disk MiB':>9} {'peak RSS MiB':>13} {'open+1st query ms':>18}")
    for lib in ("ours", "hnswlib", "faiss"):
        r = rows[lib]
        reopen = f"{r['reopen_ms']:.1f}" if "reopen_ms" in r else "-"
        print(f"{lib:<9} {r['build_s']:>8.2f} {r['size'] / 2**20:>9.1f} {r['rss']:>13.0f} {reopen:>18}")
    print(f"ours: cold process wall time for open + 1 query: {rows['ours']['reopen_wall_ms']:.1f} ms; verify: {rows['ours']['verify']}")

    def first_at(lib, target=0.95):
        for ef, rec, qps in rows[lib]["curve"]:
            if rec >= target:
                return ef, rec, qps
        return None
    o, h = first_at("ours"), first_at("hnswlib")
    summary = dict(recall10=o[1] if o else max(c[1] for c in rows["ours"]["curve"]),
                   qps_ratio=(o[2] / h[2]) if (o and h) else 0.0,
                   build_ratio=rows["ours"]["build_s"] / rows["hnswlib"]["build_s"],
                   reopen_ms=rows["ours"]["reopen_ms"])
    print(f"{name}: ours reaches {o} (ef, recall, qps); hnswlib {h}; ratios {summary}")
    return summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker")
    ap.add_argument("--base"); ap.add_argument("--queries"); ap.add_argument("--save")
    ap.add_argument("--bin", default=os.path.join(HERE, "../../../.build/release/vjsearch-ann"))
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dims", default="384,768")
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--centres", type=int, default=300)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=200)
    ap.add_argument("--efs", default="16,32,64,128,256")
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many timed passes per ef")
    ap.add_argument("--big", action="store_true", help="also 1M x 384")
    ap.add_argument("--workdir", default=os.path.join(HERE, "../../../.build/bench-ann"))
    args = ap.parse_args()
    args.efs = [int(x) for x in args.efs.split(",")]
    if args.worker:
        return worker(args)
    os.makedirs(args.workdir, exist_ok=True)
    sets = [(args.n, int(d)) for d in args.dims.split(",")]
    if args.big:
        sets.append((1_000_000, 384))
    summaries = [bench_set(args, n, d, args.workdir) for n, d in sets]
    print("\nCPU note: timings are single-threaded and taken on a shared machine; compare ratios, not absolutes.")
    print("RESULT recall10=%.4f qps_ratio=%.3f build_ratio=%.3f reopen_ms=%.1f" % (
        min(s["recall10"] for s in summaries), min(s["qps_ratio"] for s in summaries),
        max(s["build_ratio"] for s in summaries), max(s["reopen_ms"] for s in summaries)))


if __name__ == "__main__":
    main()
