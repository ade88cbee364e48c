//! rondevu-server: not yet written (see its issue).
