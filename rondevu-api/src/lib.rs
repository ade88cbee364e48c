//! rondevu-api: not yet written (see its issue).
