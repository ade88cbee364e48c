//! bt-wire: not yet written (see its issue).
