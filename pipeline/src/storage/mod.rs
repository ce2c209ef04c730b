//! Storage: the database pool with its migrations, and the content-addressed media store.
