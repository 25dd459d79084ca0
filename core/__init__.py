"""Small shared helpers that every app may import and that import no app of the project."""
