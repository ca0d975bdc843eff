//! Summaries: the third plugin kind, beside codecs and validators. A summary reads each
//! sidecar's document and folds what it finds into named counters, which the stats report
//! shows as fields of its own. The engine counts only what needs no knowledge of any domain
//! (files, formats, bytes, pairing); what a domain's keys mean (sportball's operations, faces
//! and objects; an XMP rating histogram) is a summary's business.
//!
//! A field is either a total (one number) or a tally (a count per key, shown as an object with
//! its keys sorted). Counters merge by addition, so workers fold apart and reduce in any order
//! with the same result.

use std::collections::BTreeMap;

use crate::value::View;

/// What kind of number a summary field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// One number, summed over the documents.
    Total,
    /// A count per key, summed over the documents.
    Tally,
}

/// A field a summary adds to the stats report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The report field it fills (`total_faces`).
    pub name: String,
    /// How its counter adds up.
    pub kind: FieldKind,
}

/// The value of one field, folded over some documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counter {
    /// A count.
    Total(u64),
    /// Counts by name.
    Tally(BTreeMap<String, u64>),
}

impl Counter {
    /// An empty counter of `kind`.
    pub fn new(kind: FieldKind) -> Counter {
        match kind {
            FieldKind::Total => Counter::Total(0),
            FieldKind::Tally => Counter::Tally(BTreeMap::new()),
        }
    }

    /// Adds `n` to a total.
    pub fn add(&mut self, n: u64) {
        if let Counter::Total(total) = self {
            *total += n;
        }
    }

    /// Adds `n` under `key` of a tally, allocating the key only the first time.
    pub fn add_to(&mut self, key: &str, n: u64) {
        if let Counter::Tally(map) = self {
            match map.get_mut(key) {
                Some(count) => *count += n,
                None => {
                    map.insert(key.to_owned(), n);
                }
            }
        }
    }

    /// Adds another fold of the same field, by reference.
    pub fn merge_from(&mut self, other: &Counter) {
        match (self, other) {
            (Counter::Total(a), Counter::Total(b)) => *a += b,
            (tally @ Counter::Tally(_), Counter::Tally(b)) => {
                for (key, n) in b {
                    tally.add_to(key, *n);
                }
            }
            _ => {}
        }
    }

    /// Adds another fold of the same field.
    pub fn merge(&mut self, other: Counter) {
        match (self, other) {
            (Counter::Total(a), Counter::Total(b)) => *a += b,
            (Counter::Tally(a), Counter::Tally(b)) => {
                for (key, n) in b {
                    *a.entry(key).or_default() += n;
                }
            }
            _ => {}
        }
    }
}

impl serde::Serialize for Counter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Counter::Total(n) => serializer.serialize_u64(*n),
            Counter::Tally(map) => map.serialize(serializer),
        }
    }
}

/// A stats contributor.
pub trait Summary: Send + Sync {
    /// A short lower-case name (`sportball`).
    fn name(&self) -> &str;
    /// The version of the summary's implementation, for `plugins list`.
    fn version(&self) -> &str;
    /// One line for `plugins list`.
    fn description(&self) -> &str;
    /// The report fields this summary fills, in the order the report shows them.
    fn fields(&self) -> Vec<Field>;
    /// Folds one document into `counters`: one per field, in the order of [`Summary::fields`].
    fn add(&self, document: View<'_>, counters: &mut [Counter]);
}

/// A summary linked into the binary, registered with `inventory::submit!`.
pub struct SummaryRegistration {
    make: fn() -> Box<dyn Summary>,
}

impl SummaryRegistration {
    /// A registration of the summary `make` builds.
    pub const fn new(make: fn() -> Box<dyn Summary>) -> SummaryRegistration {
        SummaryRegistration { make }
    }

    /// Builds the registered summary.
    pub fn make(&self) -> Box<dyn Summary> {
        (self.make)()
    }
}

inventory::collect!(SummaryRegistration);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_merge_by_addition() {
        let mut tally = Counter::new(FieldKind::Tally);
        tally.add_to("a", 1);
        let mut other = Counter::new(FieldKind::Tally);
        other.add_to("a", 2);
        other.add_to("b", 1);
        tally.merge(other);
        assert_eq!(
            tally,
            Counter::Tally([("a".into(), 3), ("b".into(), 1)].into_iter().collect())
        );
        let mut total = Counter::new(FieldKind::Total);
        total.add(2);
        total.merge(Counter::Total(3));
        assert_eq!(total, Counter::Total(5));
        assert_eq!(serde_json::to_string(&total).unwrap(), "5");
    }
}
