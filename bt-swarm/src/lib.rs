//! bt-swarm: not yet written (see its issue).
