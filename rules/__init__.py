"""Office policy as pure functions and tables: no Flask, no database session."""
