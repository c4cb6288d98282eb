//! Small records: lists, credentials and instances.

use bytes::Bytes;
use feedgate::auth::Credential;
use feedgate::store::{
    CredentialStore, InstanceRecord, InstanceStore, ListStore, StoreError, StoreResult,
};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::EmbeddedStore;
use crate::error::{SqlResultExt, corrupt};

/// The `credentials` scope of the universal credential. Instance scopes start with `instance:`,
/// so no instance name can collide with it.
const UNIVERSAL: &str = "universal";

fn instance_scope(instance: &str) -> String {
    format!("instance:{instance}")
}

impl ListStore for EmbeddedStore {
    async fn put_list(&self, name: &str, content: Bytes) -> StoreResult<()> {
        let name = name.to_owned();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO lists (name, content) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET content = excluded.content",
                (&name, content.as_ref()),
            )
            .store()?;
            Ok(())
        })
        .await
    }

    async fn get_list(&self, name: &str) -> StoreResult<Option<Bytes>> {
        let name = name.to_owned();
        self.read(move |conn| {
            conn.query_row("SELECT content FROM lists WHERE name = ?1", [&name], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()
            .store()
            .map(|content| content.map(Bytes::from))
        })
        .await
    }

    async fn delete_list(&self, name: &str) -> StoreResult<bool> {
        let name = name.to_owned();
        self.write(move |conn| delete_by_name(conn, "DELETE FROM lists WHERE name = ?1", &name))
            .await
    }
}

impl CredentialStore for EmbeddedStore {
    async fn set_universal(&self, credential: Credential) -> StoreResult<()> {
        self.write(move |conn| set_credential(conn, UNIVERSAL, &credential))
            .await
    }

    async fn universal(&self) -> StoreResult<Option<Credential>> {
        self.read(|conn| credential(conn, UNIVERSAL)).await
    }

    async fn set_instance_credential(
        &self,
        instance: &str,
        credential: Credential,
    ) -> StoreResult<()> {
        let scope = instance_scope(instance);
        self.write(move |conn| set_credential(conn, &scope, &credential))
            .await
    }

    async fn instance_credential(&self, instance: &str) -> StoreResult<Option<Credential>> {
        let scope = instance_scope(instance);
        self.read(move |conn| credential(conn, &scope)).await
    }
}

fn set_credential(conn: &Connection, scope: &str, credential: &Credential) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO credentials (scope, username, hash) VALUES (?1, ?2, ?3)
         ON CONFLICT (scope) DO UPDATE SET username = excluded.username, hash = excluded.hash",
        (scope, credential.username(), credential.password_hash()),
    )
    .store()?;
    Ok(())
}

fn credential(conn: &Connection, scope: &str) -> StoreResult<Option<Credential>> {
    conn.query_row(
        "SELECT username, hash FROM credentials WHERE scope = ?1",
        [scope],
        |r| {
            Ok(Credential::from_hash(
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
            ))
        },
    )
    .optional()
    .store()
}

impl InstanceStore for EmbeddedStore {
    async fn put_instance(&self, instance: InstanceRecord) -> StoreResult<()> {
        let body = to_json(&instance)?;
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO instances (name, body) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET body = excluded.body",
                (&instance.name, body),
            )
            .store()?;
            Ok(())
        })
        .await
    }

    async fn instance(&self, name: &str) -> StoreResult<Option<InstanceRecord>> {
        let name = name.to_owned();
        self.read(move |conn| {
            let body = conn
                .query_row("SELECT body FROM instances WHERE name = ?1", [&name], |r| {
                    r.get::<_, Vec<u8>>(0)
                })
                .optional()
                .store()?;
            body.map(|b| from_json(&b, &name)).transpose()
        })
        .await
    }

    async fn instances(&self) -> StoreResult<Vec<InstanceRecord>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare("SELECT name, body FROM instances ORDER BY name")
                .store()?;
            let mut rows = stmt.query([]).store()?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().store()? {
                let name: String = row.get(0).store()?;
                out.push(from_json(
                    row.get_ref(1)
                        .store()?
                        .as_bytes()
                        .map_err(|e| corrupt(&name, e))?,
                    &name,
                )?);
            }
            Ok(out)
        })
        .await
    }

    async fn delete_instance(&self, name: &str) -> StoreResult<bool> {
        let name = name.to_owned();
        self.write(move |conn| delete_by_name(conn, "DELETE FROM instances WHERE name = ?1", &name))
            .await
    }
}

fn delete_by_name(conn: &Connection, sql: &str, name: &str) -> StoreResult<bool> {
    Ok(conn.execute(sql, [name]).store()? > 0)
}

/// A record body as stored.
pub(crate) fn to_json<T: Serialize>(record: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(record)
        .map_err(|e| StoreError::Rejected(format!("record does not encode: {e}")))
}

/// A stored record body; `key` names it in the error.
pub(crate) fn from_json<T: DeserializeOwned>(body: &[u8], key: &str) -> StoreResult<T> {
    serde_json::from_slice(body).map_err(|e| corrupt(key, e))
}
