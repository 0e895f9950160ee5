"""Data records, their validation and streaming I/O (see DESIGN.md, "Data records")."""
