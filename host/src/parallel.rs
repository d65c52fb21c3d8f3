//! Work over many runs on a few threads. A listing reads and judges a thousand records; each
//! is a file to open and a status to derive, cheap alone and slow in a row. Below a threshold
//! one thread does it: starting threads costs more than a few records do.

/// Below this many items the work is done on the calling thread.
const PARALLEL_FROM: usize = 64;
/// More threads than this only contend for the same directory and allocator.
const MAX_THREADS: usize = 8;

/// `work` over `items`, results in the order of `items`.
pub fn map<'a, T: Sync, R: Send>(items: &'a [T], work: impl Fn(&'a T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS);
    if items.len() < PARALLEL_FROM || threads < 2 {
        return items.iter().map(work).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let work = &work;
    let run = move |part: &'a [T]| part.iter().map(work).collect::<Vec<_>>();
    std::thread::scope(|scope| {
        // A thread the system refuses (limits reached) leaves its share to this one.
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| std::thread::Builder::new().spawn_scoped(scope, move || run(part)).map_err(|_| part))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker {
                Ok(handle) => crate::process::joined(handle),
                Err(part) => run(part),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_order_of_the_items_on_every_path() {
        for len in [0, 1, 63, 64, 1001] {
            let items: Vec<usize> = (0..len).collect();
            assert_eq!(super::map(&items, |n| n * 2), items.iter().map(|n| n * 2).collect::<Vec<_>>());
        }
    }
}
