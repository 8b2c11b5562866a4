"""The applications of this Kokoropy project: one package per folder, loaded at start."""
