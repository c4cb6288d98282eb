//! Creating the table (for `feedgate store init` and tests).

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use feedgate::store::{StoreError, StoreResult};

use crate::DynamoStore;
use crate::client::unavailable;
use crate::schema::{PK, SK, TTL};

/// Polls of `DescribeTable` while a new table is being created.
const ACTIVE_POLLS: u32 = 120;

fn build_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("create table request: {e}"))
}

impl DynamoStore {
    /// Creates the table (on-demand billing, `pk`/`sk` string keys) unless it exists, waits
    /// until it is active, and turns on TTL for `expires_at`. Returns whether it created it.
    pub async fn create_table_if_missing(&self) -> StoreResult<bool> {
        let exists = match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                false
            }
            Err(e) => return Err(unavailable("DescribeTable", e)),
        };
        if !exists {
            let attr = |name: &str| {
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(build_err)
            };
            let key = |name: &str, kind| {
                KeySchemaElement::builder()
                    .attribute_name(name)
                    .key_type(kind)
                    .build()
                    .map_err(build_err)
            };
            let created = self
                .client
                .create_table()
                .table_name(&self.table)
                .billing_mode(BillingMode::PayPerRequest)
                .attribute_definitions(attr(PK)?)
                .attribute_definitions(attr(SK)?)
                .key_schema(key(PK, KeyType::Hash)?)
                .key_schema(key(SK, KeyType::Range)?)
                .send()
                .await;
            match created {
                Ok(_) => {}
                // Someone else created it meanwhile: fine.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_in_use_exception()) => {}
                Err(e) => return Err(unavailable("CreateTable", e)),
            }
        }
        self.wait_active().await?;
        self.enable_ttl().await?;
        Ok(!exists)
    }

    async fn wait_active(&self) -> StoreResult<()> {
        for _ in 0..ACTIVE_POLLS {
            let out = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| unavailable("DescribeTable", e))?;
            if out.table.and_then(|t| t.table_status) == Some(TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(StoreError::Unavailable(format!(
            "table {} did not become active",
            self.table
        )))
    }

    async fn enable_ttl(&self) -> StoreResult<()> {
        let status = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| unavailable("DescribeTimeToLive", e))?
            .time_to_live_description
            .and_then(|d| d.time_to_live_status);
        if matches!(
            status,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        ) {
            return Ok(());
        }
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(TTL)
            .enabled(true)
            .build()
            .map_err(build_err)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| unavailable("UpdateTimeToLive", e))?;
        Ok(())
    }
}
