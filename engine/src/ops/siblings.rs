//! Sidecars of one photo that share a name but for the extension (`X.json` beside `X.bin`,
//! `X.CR3.xmp` beside `X.CR3.json`) should hold the same values: a rewritten copy beside a
//! stale one is the disagreement `convert` later reports as a conflict. The pass hands such
//! files to each stage one after the other ([`crate::ops::FileState::digest`] fingerprints
//! their values); a stage keeps a [`Siblings`] in its fold to compare each with the one before.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::ops::{display_path, same_name};

/// The last sidecar seen that has siblings: its path and the fingerprint of its values.
#[derive(Default)]
pub struct Siblings {
    last: Option<(PathBuf, u128)>,
}

/// Two sidecars of one name whose values differ.
#[derive(Debug, Clone, Serialize)]
pub struct Disagreement {
    pub file_path: String,
    /// The sibling it was compared with (the one before it in path order).
    pub other: String,
}

impl Siblings {
    /// Notes a file (`digest` is `None` for a file without siblings); returns the earlier
    /// sibling whose values differ from its own.
    pub fn differs(&mut self, path: &Path, digest: Option<u128>) -> Option<Disagreement> {
        let Some(digest) = digest else {
            self.last = None;
            return None;
        };
        let found = match &self.last {
            Some((other, theirs)) if same_name(other, path) && *theirs != digest => {
                Some(Disagreement {
                    file_path: display_path(path),
                    other: display_path(other),
                })
            }
            _ => None,
        };
        self.last = Some((path.to_path_buf(), digest));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_siblings_with_other_values_disagree() {
        let mut siblings = Siblings::default();
        assert!(siblings.differs(Path::new("a/X.bin"), Some(1)).is_none());
        assert!(
            siblings.differs(Path::new("a/X.json"), Some(1)).is_none(),
            "equal values"
        );
        let found = siblings.differs(Path::new("a/X.xmp"), Some(2)).unwrap();
        assert_eq!(
            (found.file_path.as_str(), found.other.as_str()),
            ("a/X.xmp", "a/X.json")
        );
        assert!(
            siblings.differs(Path::new("a/Y.json"), Some(3)).is_none(),
            "another name"
        );
        assert!(siblings.differs(Path::new("a/Y.bin"), None).is_none());
        assert!(
            siblings.differs(Path::new("a/Y.rkyv"), Some(4)).is_none(),
            "the one before had no siblings noted"
        );
    }
}
