//! The cleanup stage: sidecars whose image is gone (orphans), listed, moved aside or removed.
//!
//! A sidecar is an orphan when no image beside it pairs with it under any of the walk's rules
//! (both naming conventions, darktable duplicates, image extensions in any case). Directory-level
//! files and this tool's reports never reach the stage; a sidecar reached through a symbolic
//! link, or whose real location is outside the input, is listed and never touched; one that
//! cannot be read is listed and kept (it cannot be told from a report of this tool).
//!
//! Before each orphan is moved or removed, its directory is listed again: an image that
//! appeared meanwhile (a photo renamed during the run) keeps it. A removal first parks the file
//! under a private name, checks that the parked file is the one read (identity and a
//! fingerprint of its bytes), and only then deletes it; a file that changed is put back and
//! reported. A move renames the file below `--move-to`, keeping its path below the input, and
//! never over an existing file.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::discover::{Candidate, Rules, Tree};
use crate::fsio::{self, FileMeta};
use crate::ops::{
    display_path, FailureRecord, FileState, Flow, NoRecord, PassContext, RecordedFile, StageKind,
};
use crate::value::View;

/// A command run before each orphan is moved or removed, for tests that rename a photo or
/// change a sidecar in between.
pub const HOOK_VAR: &str = "IMAGE_SIDECAR_TEST_HOOK_BEFORE_CLEANUP";

/// What is done with orphans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// List them; change nothing.
    DryRun,
    /// Move them below this directory, keeping their paths below the input.
    MoveTo(PathBuf),
    /// Remove them.
    Delete,
}

/// The cleanup stage.
pub struct CleanupStage {
    pub mode: Mode,
    /// The rules the walk paired with, to look again just before acting.
    pub rules: Rules,
}

/// What was done with one orphan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Listed by a dry run.
    Listed,
    Moved,
    Removed,
    /// Left where it is; `reason` says why.
    Kept,
}

#[derive(Debug, Clone, Serialize)]
pub struct Orphan {
    pub file_path: String,
    pub action: Action,
    /// Where it was moved to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CleanupReport {
    /// `dry-run`, `move` or `delete`.
    pub mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub move_to: Option<String>,
    /// Per-image sidecars looked at (directory-level files excluded).
    pub total_sidecars: u64,
    pub orphans: u64,
    pub moved: u64,
    pub removed: u64,
    pub kept: u64,
    pub directory_files: Vec<String>,
    /// Every orphan and what was done with it, in path order.
    pub results: Vec<Orphan>,
    /// Time spent in this stage, summed over workers.
    pub elapsed_seconds: f64,
}

impl CleanupReport {
    /// Whether an orphan had to be kept.
    pub fn has_findings(&self) -> bool {
        self.kept > 0
    }
}

#[derive(Default)]
pub struct Fold {
    seen: u64,
    directory_files: Vec<String>,
    orphans: Vec<Orphan>,
}

impl CleanupStage {
    fn act(&self, path: &Path, rel: &Path, read: &FileMeta, bytes: &[u8]) -> Orphan {
        let file_path = display_path(path);
        let kept = |reason: String| Orphan {
            file_path: file_path.clone(),
            action: Action::Kept,
            moved_to: None,
            reason: Some(reason),
        };
        let move_to = match &self.mode {
            Mode::DryRun => {
                return Orphan {
                    file_path,
                    action: Action::Listed,
                    moved_to: None,
                    reason: None,
                }
            }
            Mode::MoveTo(dir) => Some(dir),
            Mode::Delete => None,
        };
        fsio::run_test_hook(HOOK_VAR);
        if let Some(image) = self.image_now(path) {
            return kept(format!(
                "its image {} is there now; not an orphan",
                display_path(&image)
            ));
        }
        let same = |meta: &std::fs::Metadata| fsio::Identity::of(meta).same_content(&read.identity);
        match std::fs::symlink_metadata(path) {
            Ok(meta) if same(&meta) => {}
            Ok(_) => return kept("changed since it was read; left as it is".into()),
            Err(e) => return kept(format!("cannot be looked at again: {e}")),
        }
        match move_to {
            Some(dir) => {
                let target = dir.join(rel);
                if let Err(e) = std::fs::create_dir_all(fsio::parent(&target)) {
                    return kept(format!(
                        "cannot make {}: {e}",
                        display_path(fsio::parent(&target))
                    ));
                }
                match fsio::rename_noreplace(path, &target) {
                    Ok(()) => Orphan {
                        file_path,
                        action: Action::Moved,
                        moved_to: Some(display_path(&target)),
                        reason: None,
                    },
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        kept(format!("{} exists already; nothing moved", display_path(&target)))
                    }
                    Err(e) if e.raw_os_error() == Some(cross_device()) => kept(format!(
                        "{} is on another file system; cleanup moves only within one (choose a --move-to on the input's)",
                        display_path(dir)
                    )),
                    Err(e) => kept(format!("cannot move it: {e}")),
                }
            }
            None => {
                let parked = fsio::parked_path(path);
                if let Err(e) = fsio::rename_noreplace(path, &parked) {
                    return kept(format!("cannot set it aside to remove it: {e}"));
                }
                let mut now = Vec::new();
                let unchanged = fsio::read_into(&parked, &mut now, bytes.len() as u64 + 1)
                    .is_ok_and(|meta| {
                        meta.identity.same_content(&read.identity)
                            && fsio::fingerprint(&now) == fsio::fingerprint(bytes)
                    });
                if !unchanged {
                    return match fsio::rename_noreplace(&parked, path) {
                        Ok(()) => kept("changed while it was being removed; put back".into()),
                        Err(_) => kept(format!(
                            "changed while it was being removed; kept as {}",
                            display_path(&parked)
                        )),
                    };
                }
                match std::fs::remove_file(&parked) {
                    Ok(()) => Orphan {
                        file_path,
                        action: Action::Removed,
                        moved_to: None,
                        reason: None,
                    },
                    Err(e) => kept(format!(
                        "cannot remove it ({e}); kept as {}",
                        display_path(&parked)
                    )),
                }
            }
        }
    }

    /// An image beside `sidecar` that pairs with it, as the directory holds now.
    fn image_now(&self, sidecar: &Path) -> Option<PathBuf> {
        let name = sidecar.file_name()?.as_encoded_bytes().to_vec();
        let dir = fsio::parent(sidecar);
        crate::discover::images_in(dir, &self.rules)
            .ok()?
            .into_iter()
            .find(|image| crate::discover::pairs(&name, image.as_encoded_bytes()))
            .map(|image| dir.join(image))
    }
}

/// `EXDEV`: a rename across file systems.
fn cross_device() -> i32 {
    rustix::io::Errno::XDEV.raw_os_error()
}

impl<'r> StageKind<'r> for CleanupStage {
    type Fold = Fold;
    type Record = NoRecord;
    type Report = CleanupReport;

    fn fingerprint(&self) -> String {
        format!("cleanup {:?}\n", self.mode)
    }

    fn cacheable(&self) -> bool {
        false
    }

    fn changes_files(&self) -> bool {
        self.mode != Mode::DryRun
    }

    fn apply<'f>(
        &self,
        fold: &mut Fold,
        file: &mut FileState<'f>,
        _: Option<View<'_>>,
        _: PassContext<'_>,
    ) -> (Option<NoRecord>, Flow)
    where
        'r: 'f,
    {
        fold.seen += 1;
        if file.has_image {
            return (None, Flow::Continue);
        }
        let file_path = display_path(file.path);
        let untouchable = if file.candidate.linked {
            Some("a symbolic link; never changed")
        } else if file.candidate.outside {
            Some("its real location is outside the input; never changed")
        } else {
            None
        };
        let orphan = match untouchable {
            Some(reason) if self.mode != Mode::DryRun => Orphan {
                file_path,
                action: Action::Kept,
                moved_to: None,
                reason: Some(reason.into()),
            },
            _ => self.act(file.path, file.candidate.rel, &file.meta, file.bytes),
        };
        fold.orphans.push(orphan);
        (None, Flow::Continue)
    }

    fn replay(
        &self,
        _: &mut Fold,
        record: &NoRecord,
        _: RecordedFile<'_>,
        _: PassContext<'_>,
    ) -> Flow {
        match *record {}
    }

    fn directory_file(&self, fold: &mut Fold, path: &Path) {
        fold.directory_files.push(display_path(path));
    }

    /// A sidecar that cannot be read might be anything (a report of this tool, say): an
    /// orphan among them is listed and kept.
    fn unreadable(
        &self,
        fold: &mut Fold,
        candidate: Candidate<'_>,
        failure: &FailureRecord,
    ) -> Flow {
        fold.seen += 1;
        if !candidate.has_image {
            fold.orphans.push(Orphan {
                file_path: display_path(&candidate.path()),
                action: Action::Kept,
                moved_to: None,
                reason: Some(format!(
                    "cannot be read ({}); an unreadable file is never removed",
                    failure.message
                )),
            });
        }
        Flow::Continue
    }

    fn merge(mut mine: Fold, theirs: Fold) -> Fold {
        mine.seen += theirs.seen;
        mine.directory_files.extend(theirs.directory_files);
        mine.orphans.extend(theirs.orphans);
        mine
    }

    fn finish(
        &self,
        mut fold: Fold,
        _: &Tree,
        _: PassContext<'_>,
        elapsed_seconds: f64,
    ) -> CleanupReport {
        fold.orphans.sort_by(|a, b| a.file_path.cmp(&b.file_path));
        fold.directory_files.sort();
        let count = |action| fold.orphans.iter().filter(|o| o.action == action).count() as u64;
        CleanupReport {
            mode: match self.mode {
                Mode::DryRun => "dry-run",
                Mode::MoveTo(_) => "move",
                Mode::Delete => "delete",
            },
            move_to: match &self.mode {
                Mode::MoveTo(dir) => Some(display_path(dir)),
                _ => None,
            },
            total_sidecars: fold.seen,
            orphans: fold.orphans.len() as u64,
            moved: count(Action::Moved),
            removed: count(Action::Removed),
            kept: count(Action::Kept),
            directory_files: fold.directory_files,
            results: fold.orphans,
            elapsed_seconds,
        }
    }
}
