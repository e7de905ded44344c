//! What the Byzantine proposers' menus are built from.

/// Every subset of `items` with exactly `size` elements, in order.
pub fn subsets<T: Clone>(items: &[T], size: usize) -> Vec<Vec<T>> {
    fn go<T: Clone>(items: &[T], size: usize, acc: &mut Vec<T>, out: &mut Vec<Vec<T>>) {
        if acc.len() == size {
            out.push(acc.clone());
            return;
        }
        for (i, item) in items.iter().enumerate() {
            acc.push(item.clone());
            go(&items[i + 1..], size, acc, out);
            acc.pop();
        }
    }
    let mut out = Vec::new();
    go(items, size, &mut Vec::new(), &mut out);
    out
}
