//! rondevu-rtc: not yet written (see its issue).
