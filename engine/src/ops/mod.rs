//! Operations over a tree of sidecars.
