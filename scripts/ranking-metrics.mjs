// Leave-one-out accuracy of rankings, as training/gflowgr/metrics.py defines it: one target per case.

/** rankings[i]: case i's items, best first; targets[i]: its held-out item. -> Recall@k and NDCG@k over the cases. */
export function recallNdcg (rankings, targets, k) {
  let recall = 0; let ndcg = 0
  rankings.forEach((ranking, i) => {
    const rank = ranking.slice(0, k).indexOf(targets[i])
    if (rank >= 0) { recall++; ndcg += 1 / Math.log2(rank + 2) }
  })
  return { recall: recall / rankings.length, ndcg: ndcg / rankings.length }
}
