namespace cutover::proxy {}
