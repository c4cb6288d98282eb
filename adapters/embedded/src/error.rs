//! SQLite errors as store errors: what the caller should learn, not SQLite's codes.

use feedgate::store::StoreError;
use rusqlite::ErrorCode;

/// Turns a SQLite error into a store error. Locks held too long, I/O trouble and a full disk
/// are `Unavailable` (retry later; nothing of the failed call is written, its transaction
/// rolled back); a damaged file is `Corrupt`; a value over SQLite's size limit is `Rejected`.
pub(crate) fn map(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(code, _) => match code.code {
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreError::Corrupt {
                key: "database".into(),
                reason: e.to_string(),
            },
            ErrorCode::TooBig => {
                StoreError::Rejected(format!("value too large for the store: {e}"))
            }
            _ => StoreError::Unavailable(e.to_string()),
        },
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::Utf8Error(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Corrupt {
            key: "row".into(),
            reason: e.to_string(),
        },
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// A stored record that does not decode.
pub(crate) fn corrupt(key: impl Into<String>, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: key.into(),
        reason: reason.to_string(),
    }
}

/// `?` on rusqlite results inside the adapter.
pub(crate) trait SqlResultExt<T> {
    /// Maps the error with [`map`].
    fn store(self) -> Result<T, StoreError>;
}

impl<T> SqlResultExt<T> for Result<T, rusqlite::Error> {
    fn store(self) -> Result<T, StoreError> {
        self.map_err(map)
    }
}
