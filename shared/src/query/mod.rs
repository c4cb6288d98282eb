//! The `q` language (spec/query.md): parser and evaluator. Being written.
