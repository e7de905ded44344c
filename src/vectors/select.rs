//! Which of the sampled cases ([`crate::models::walk`]) a vector file keeps.

/// How many cases of one bucket a file keeps: the first few, then every k-th, up to a cap.
#[derive(Clone, Copy, Debug)]
pub struct Keep {
    pub first: usize,
    pub every: usize,
    pub at_most: usize,
}

/// The cases `keep` selects from each bucket, bucket by bucket in their order.
pub fn select<K, T>(buckets: impl IntoIterator<Item = (K, Vec<T>)>, keep: Keep) -> Vec<T> {
    let mut kept = Vec::new();
    for (_, cases) in buckets {
        let chosen = cases
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i < keep.first || i % keep.every == 0)
            .take(keep.at_most)
            .map(|(_, case)| case);
        kept.extend(chosen);
    }
    kept
}
