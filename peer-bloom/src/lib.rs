//! peer-bloom: not yet written (see its issue).
