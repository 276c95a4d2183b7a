//! Following, blocking, muting.
