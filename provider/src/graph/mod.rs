//! Microsoft Graph client: authentication, retries, paging, batching, consistency waits.
//! Knows nothing of Terraform.

pub mod config;
