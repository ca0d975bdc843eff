//! One module per subcommand; each is a thin call into an engine operation.

pub mod cleanup;
pub mod convert;
pub mod docs;
pub mod export;
pub mod format_stats;
pub mod inspect;
pub mod list;
pub mod merge;
pub mod mv;
pub mod pipelines;
pub mod plugins;
pub mod report;
pub mod run;
pub mod stats;
pub mod validate;
