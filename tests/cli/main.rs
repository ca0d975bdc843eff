//! Integration tests of the real binary on temporary trees.
