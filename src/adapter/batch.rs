//! Many decisions for one function from ONE snapshot of the hint set (a
//! concurrent swap never splits a batch), written as columns: what Python's
//! `decide_many` hands back as numpy arrays.
//!
//! The function and its hint are looked up once per batch. Without request
//! features the table is the same for every item (and with run keys, one of
//! two), so it is chosen once too; each item is then a subtraction, a
//! count of the table's rule edges below the budget and its column
//! entries, with no allocation beyond the columns themselves.

use super::decide::check_elapsed;
use super::{Adapter, AdapterError, Decision};
use crate::model::Size;

/// Decisions made before they are written to the columns.
const BLOCK: usize = 256;

/// The queries of a batch, item `i` in position `i` of every column.
#[derive(Debug, Clone, Copy, Default)]
pub struct Batch<'a> {
    pub elapsed_ms: &'a [f64],
    /// Request features, row-major: one row of `width` values per item.
    pub features: Option<(&'a [f64], usize)>,
    /// The node's free capacity, the same for the whole batch.
    pub free: Option<Size>,
    /// One run key per item.
    pub run_keys: Option<&'a [u64]>,
}

/// The decisions of a batch, as columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decisions {
    pub cpu_millis: Vec<u32>,
    pub memory_mib: Vec<u32>,
    /// The rule index, -1 for a late run.
    pub rule: Vec<i64>,
    pub late: Vec<bool>,
    pub fits: Vec<bool>,
    pub remaining_ms: Vec<f64>,
    /// The input class, -1 for the unconditioned table.
    pub class: Vec<i64>,
}

impl Decisions {
    fn with_capacity(n: usize) -> Self {
        Decisions {
            cpu_millis: Vec::with_capacity(n),
            memory_mib: Vec::with_capacity(n),
            rule: Vec::with_capacity(n),
            late: Vec::with_capacity(n),
            fits: Vec::with_capacity(n),
            remaining_ms: Vec::with_capacity(n),
            class: Vec::with_capacity(n),
        }
    }

    fn extend(&mut self, ds: &[Decision]) {
        self.cpu_millis.extend(ds.iter().map(|d| d.size.cpu_millis));
        self.memory_mib.extend(ds.iter().map(|d| d.size.memory_mib));
        self.rule.extend(ds.iter().map(|d| d.rule.map_or(-1, |r| r as i64)));
        self.late.extend(ds.iter().map(|d| d.late));
        self.fits.extend(ds.iter().map(|d| d.fits));
        self.remaining_ms.extend(ds.iter().map(|d| d.remaining_ms));
        self.class.extend(ds.iter().map(|d| d.class.map_or(-1, |c| c as i64)));
    }

    pub fn len(&self) -> usize {
        self.cpu_millis.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cpu_millis.is_empty()
    }
}

impl Adapter {
    /// One decision for `function` per item of `batch`, from one snapshot.
    /// An item with bad input fails the batch with its index.
    pub fn decide_many(&self, function: &str, batch: &Batch<'_>) -> Result<Decisions, AdapterError> {
        let n = batch.elapsed_ms.len();
        if let Some((x, width)) = batch.features {
            if width == 0 || x.len() != n * width {
                let found = x.len().checked_div(width).unwrap_or(0);
                return Err(AdapterError::BatchShape { what: "feature rows", expected: n, found });
            }
        }
        if let Some(k) = batch.run_keys.filter(|k| k.len() != n) {
            return Err(AdapterError::BatchShape { what: "run keys", expected: n, found: k.len() });
        }
        let cur = self.current.load();
        let f = cur.function(function)?;
        let hint = &cur.hints.hints[f];
        let at = |index: usize| move |e: AdapterError| AdapterError::BatchItem { index, source: Box::new(e) };
        let mut out = Decisions::with_capacity(n);
        // Decisions go through a small buffer, then into the columns one
        // column at a time (tight copy loops instead of seven pushes per item).
        let mut buf: Vec<Decision> = Vec::with_capacity(BLOCK.min(n));
        for (c, els) in batch.elapsed_ms.chunks(BLOCK).enumerate() {
            let first = c * BLOCK;
            buf.clear();
            match batch.features {
                // One class for the whole batch: its table (or its two, when mixed) chosen once.
                None => {
                    let mixed = cur.mixed(hint, None);
                    let primary = cur.table(f, None, None);
                    for (k, &el) in els.iter().enumerate() {
                        check_elapsed(el).map_err(at(first + k))?;
                        let table = match batch.run_keys {
                            Some(keys) if mixed => cur.table(f, None, Some(keys[first + k])),
                            _ => primary,
                        };
                        buf.push(cur.pick(hint, table, el, batch.free, None));
                    }
                }
                Some((x, width)) => {
                    for (k, &el) in els.iter().enumerate() {
                        let i = first + k;
                        check_elapsed(el).map_err(at(i))?;
                        let class = cur.class_of(Some(&x[i * width..(i + 1) * width])).map_err(at(i))?;
                        let table = cur.table(f, class, batch.run_keys.map(|keys| keys[i]));
                        buf.push(cur.pick(hint, table, el, batch.free, class));
                    }
                }
            }
            out.extend(&buf);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::decide::tests::{classed_hints, small_hints};
    use crate::adapter::Query;

    /// Every column agrees with one `decide` per item.
    fn agrees(a: &Adapter, batch: &Batch<'_>) {
        let got = a.decide_many("f", batch).unwrap();
        assert_eq!(got.len(), batch.elapsed_ms.len());
        for (i, &el) in batch.elapsed_ms.iter().enumerate() {
            let q = Query {
                elapsed_ms: el,
                features: batch.features.map(|(x, w)| &x[i * w..(i + 1) * w]),
                free: batch.free,
                run_key: batch.run_keys.map(|k| k[i]),
            };
            let d = a.decide("f", &q).unwrap();
            assert_eq!((got.cpu_millis[i], got.memory_mib[i]), (d.size.cpu_millis, d.size.memory_mib), "item {i}");
            assert_eq!(got.rule[i], d.rule.map_or(-1, |r| r as i64));
            assert_eq!((got.late[i], got.fits[i]), (d.late, d.fits));
            assert_eq!(got.remaining_ms[i], d.remaining_ms);
            assert_eq!(got.class[i], d.class.map_or(-1, |c| c as i64));
        }
    }

    #[test]
    fn a_batch_decides_as_one_call_per_item() {
        let elapsed: Vec<f64> = (0..60).map(|k| f64::from(k) * 20.0).collect();
        let a = Adapter::new(small_hints());
        agrees(&a, &Batch { elapsed_ms: &elapsed, ..Batch::default() });
        agrees(&a, &Batch { elapsed_ms: &elapsed, free: Some(Size::new(1500, 4096)), ..Batch::default() });
        let c = Adapter::new(classed_hints());
        let feats: Vec<f64> = (0..60).map(|k| f64::from(k % 20)).collect();
        agrees(&c, &Batch { elapsed_ms: &elapsed, features: Some((&feats, 1)), ..Batch::default() });
        agrees(&c, &Batch { elapsed_ms: &elapsed, ..Batch::default() });
        // A mixed table: run keys pick the table item by item.
        let mut h = small_hints();
        h.hints[0].alt_tables = vec![crate::hints::RuleTable {
            rules: vec![crate::hints::Rule { min_remaining_ms: 0.0, sizes: vec![Size::new(1000, 512)] }],
        }];
        h.summary[0].mix = Some(0.5);
        h.summary[0].primary = Some((1.0, 0.05));
        let m = Adapter::new(h);
        let keys: Vec<u64> = (0..60).collect();
        agrees(&m, &Batch { elapsed_ms: &elapsed, run_keys: Some(&keys), ..Batch::default() });
        agrees(&m, &Batch { elapsed_ms: &elapsed, ..Batch::default() });
        assert!(a.decide_many("f", &Batch::default()).unwrap().is_empty());
    }

    #[test]
    fn a_bad_item_or_shape_is_named() {
        let a = Adapter::new(classed_hints());
        let el = [1.0, f64::NAN, 3.0];
        let e = a.decide_many("f", &Batch { elapsed_ms: &el, ..Batch::default() }).unwrap_err();
        assert!(
            matches!(&e, AdapterError::BatchItem { index: 1, source } if matches!(**source, AdapterError::BadElapsed(_)))
        );
        assert!(e.to_string().contains("item 1 of the batch"), "{e}");
        let el = [1.0, 2.0];
        let feats = [1.0, f64::INFINITY];
        let e = a.decide_many("f", &Batch { elapsed_ms: &el, features: Some((&feats, 1)), ..Batch::default() });
        assert!(matches!(e, Err(AdapterError::BatchItem { index: 1, .. })));
        let e = a.decide_many("f", &Batch { elapsed_ms: &el, features: Some((&feats[..1], 1)), ..Batch::default() });
        assert!(matches!(e, Err(AdapterError::BatchShape { what: "feature rows", expected: 2, found: 1 })));
        let e = a.decide_many("f", &Batch { elapsed_ms: &el, features: Some((&feats, 0)), ..Batch::default() });
        assert!(matches!(e, Err(AdapterError::BatchShape { .. })));
        let e = a.decide_many("f", &Batch { elapsed_ms: &el, run_keys: Some(&[1]), ..Batch::default() });
        assert!(matches!(e, Err(AdapterError::BatchShape { what: "run keys", .. })));
        let e = a.decide_many("g", &Batch { elapsed_ms: &el, ..Batch::default() });
        assert!(matches!(e, Err(AdapterError::UnknownFunction { .. })));
    }
}
