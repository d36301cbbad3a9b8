"""The baseline an analyst would use, run by bench/text/run.sh on the same files as ours.

    baseline.py cv LABELLED.csv [FOLDS]      jieba + TF-IDF + LinearSVC, words and char 1-3
    baseline.py cluster HOT.csv              TF-IDF + agglomerative and DBSCAN clustering
    baseline.py purity CLUSTERS.csv LABELS.csv   purity of a clustering on hand labels

Prints "RESULT key=value" lines. Reads the files given; stores nothing.
"""

import collections
import csv
import os
import sys
import time


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def cv(path, folds=5):
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    jieba.setLogLevel(60)
    rows = read(path)
    texts = [r["text"] for r in rows]
    labels = [r["label"] for r in rows]
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)

    started = time.perf_counter()
    cpu_started = time.process_time()
    jieba.initialize()
    words = [" ".join(jieba.lcut(t)) for t in texts]
    pipe = make_pipeline(TfidfVectorizer(token_pattern=r"(?u)\S+"), LinearSVC())
    predicted = cross_val_predict(pipe, words, labels, cv=splitter)
    seconds = time.perf_counter() - started
    print(f"RESULT baseline_words_macro_f1={f1_score(labels, predicted, average='macro'):.4f}")
    print(f"RESULT baseline_words_cv_seconds={seconds:.3f}")
    print(f"RESULT baseline_words_cv_cpu_seconds={time.process_time() - cpu_started:.3f}")

    started = time.perf_counter()
    cpu_started = time.process_time()
    pipe = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), LinearSVC())
    predicted = cross_val_predict(pipe, texts, labels, cv=splitter)
    seconds = time.perf_counter() - started
    print(f"RESULT baseline_char13_macro_f1={f1_score(labels, predicted, average='macro'):.4f}")
    print(f"RESULT baseline_char13_cv_seconds={seconds:.3f}")
    print(f"RESULT baseline_char13_cv_cpu_seconds={time.process_time() - cpu_started:.3f}")


def cluster(path, output_prefix):
    import jieba
    from sklearn.cluster import DBSCAN, AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    jieba.setLogLevel(60)
    rows = read(path)
    texts = [(r.get("title") or "") + "。" + r["text"] for r in rows]
    ids = [r["id"] for r in rows]

    started = time.perf_counter()
    cpu_started = time.process_time()
    jieba.initialize()
    docs = [" ".join(jieba.lcut(t)) for t in texts]
    matrix = TfidfVectorizer(token_pattern=r"(?u)\S\S+", sublinear_tf=True, min_df=1).fit_transform(docs)
    vector_seconds = time.perf_counter() - started
    vector_cpu = time.process_time() - cpu_started

    runs = []
    if os.environ.get("QUICK") != "--quick":
        # Quadratic in memory and slow (minutes on 4,000 texts); skipped by run.sh --quick.
        started = time.perf_counter()
        cpu_started = time.process_time()
        agglomerative = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average", distance_threshold=0.75
        ).fit_predict(matrix.toarray())
        runs.append((
            "agglomerative",
            agglomerative,
            vector_seconds + time.perf_counter() - started,
            vector_cpu + time.process_time() - cpu_started,
        ))

    started = time.perf_counter()
    cpu_started = time.process_time()
    dbscan = DBSCAN(eps=0.6, min_samples=2, metric="cosine").fit_predict(matrix)
    runs.append((
        "dbscan",
        dbscan,
        vector_seconds + time.perf_counter() - started,
        vector_cpu + time.process_time() - cpu_started,
    ))

    for name, assignment, seconds, cpu in runs:
        with open(f"{output_prefix}-{name}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "cluster"])
            # DBSCAN's noise (-1) is a singleton each, like our one-member clusters.
            for n, (i, c) in enumerate(zip(ids, assignment)):
                writer.writerow([i, f"noise{n}" if c == -1 else c])
        sizes = collections.Counter(c for c in assignment if c != -1)
        print(f"RESULT baseline_{name}_seconds={seconds:.3f}")
        # CPU time of the process's threads (scikit-learn may use several).
        print(f"RESULT baseline_{name}_cpu_seconds={cpu:.3f}")
        print(f"RESULT baseline_{name}_clusters_size_ge2={sum(1 for s in sizes.values() if s >= 2)}")


def purity(clusters_path, labels_path, name):
    """Share of hand-labelled items whose label is their cluster's most common label,
    counting only clusters with at least two labelled items."""
    labels = {r["id"]: r["label"] for r in read(labels_path)}
    by_cluster = collections.defaultdict(list)
    for r in read(clusters_path):
        if r["id"] in labels:
            by_cluster[r["cluster"]].append(labels[r["id"]])
    counted = majority = 0
    for members in by_cluster.values():
        if len(members) >= 2:
            counted += len(members)
            majority += collections.Counter(members).most_common(1)[0][1]
    # How many distinct hand labels end up split over several clusters.
    homes = collections.defaultdict(set)
    for cluster_id, members in by_cluster.items():
        for label in members:
            homes[label].add(cluster_id)
    print(f"RESULT {name}_purity={majority / max(counted, 1):.3f}")
    print(f"RESULT {name}_labelled_items_in_clusters={counted}")
    print(f"RESULT {name}_labels_split={sum(1 for h in homes.values() if len(h) > 1)}")
    # Pairs of labelled items: of the pairs put in one cluster, the share with one label
    # (precision), and of the pairs with one label, the share put in one cluster (recall).
    # Large labels weigh more, so one merge or split of a big group moves them a lot.
    cluster_of = {r["id"]: r["cluster"] for r in read(clusters_path) if r["id"] in labels}
    ids = sorted(cluster_of)
    same_cluster = same_label = both = 0
    for n, a in enumerate(ids):
        for b in ids[n + 1:]:
            c = cluster_of[a] == cluster_of[b]
            l = labels[a] == labels[b]
            same_cluster += c
            same_label += l
            both += c and l
    print(f"RESULT {name}_pair_precision={both / max(same_cluster, 1):.3f}")
    print(f"RESULT {name}_pair_recall={both / max(same_label, 1):.3f}")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "cv":
        cv(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 5)
    elif command == "cluster":
        cluster(sys.argv[2], sys.argv[3])
    elif command == "purity":
        purity(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "ours")
    else:
        sys.exit(__doc__)
